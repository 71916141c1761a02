import Hummingbird

/// `GET /images/<id>.png`: the images kept for OpenAI `response_format: url` replies.
struct ImageRoutes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.get("/images/:file") { _, context -> Response in
            let file = context.parameters.get("file") ?? ""
            guard file.hasSuffix(".png"), let png = server.images.image(id: String(file.dropLast(4))) else {
                throw APIError.notFound("no image \(file) (images are kept for the last \(server.configuration.keptImages) results)")
            }
            return HTTPSupport.bytes(png, contentType: "image/png", headers: [.cacheControl: "private, max-age=86400"])
        }
    }
}
