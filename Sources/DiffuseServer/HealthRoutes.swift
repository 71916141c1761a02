import Hummingbird

/// `GET /health` → `{"status":"ok"}`.
struct HealthRoutes {
    let server: DiffuseServer

    func register(on router: Router<DiffuseRequestContext>) {
        router.get("/health") { _, _ -> Response in
            HTTPSupport.json(["status": "ok"])
        }
    }
}
