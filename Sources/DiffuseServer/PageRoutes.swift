import Foundation
import Hummingbird

/// The web page at `/` and its assets, all served from the binary (it works offline), plus
/// `GET /api/config`, which tells the page the model, samplers and limits.
struct PageRoutes {
    let server: DiffuseServer

    /// Path → (content type, bytes). These are the only routes served without an API key.
    static let assets: [String: (contentType: String, body: String)] = [
        "/": ("text/html; charset=utf-8", PageAssets.html),
        "/index.html": ("text/html; charset=utf-8", PageAssets.html),
        "/app.js": ("text/javascript; charset=utf-8", PageAssets.script),
        "/app.css": ("text/css; charset=utf-8", PageAssets.style),
        "/favicon.svg": ("image/svg+xml", PageAssets.icon),
    ]

    func register(on router: Router<DiffuseRequestContext>) {
        for (path, asset) in PageRoutes.assets {
            let body = Data(asset.body.utf8)
            router.get(RouterPath(path)) { _, _ -> Response in
                HTTPSupport.bytes(body, contentType: asset.contentType, headers: [.cacheControl: "no-cache"])
            }
        }
        router.get("/api/config") { _, _ -> Response in
            let config = server.configuration
            return HTTPSupport.json([
                "model": .string(server.model.name),
                "default_size": .number(server.model.defaultImageSize),
                "default_sampler": .string(server.samplers.defaultDisplayName),
                "samplers": .array(server.samplers.entries.map { ["name": .string($0.name), "display_name": .string($0.displayName)] }),
                "limits": [
                    "max_size": .number(config.maxSize), "max_steps": .number(config.maxSteps),
                    "max_images": .number(config.maxImages), "max_body_bytes": .number(config.effectiveMaxBodyBytes),
                ],
            ])
        }
    }
}
