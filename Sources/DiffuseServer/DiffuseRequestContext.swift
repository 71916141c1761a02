import Hummingbird
import NIOCore

/// The context of every request: Hummingbird's core context plus the connection's channel, by
/// which a route finds the connection's `ConnectionWatch` (`ConnectionTracker.watch(for:)`).
struct DiffuseRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The TCP connection the request came on.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
