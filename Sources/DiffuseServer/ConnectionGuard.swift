import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes

/// One connection's gatekeeper, after the HTTP codec:
/// - at `ConnectionTracker.limit` open connections it closes the oldest one not being answered
///   (idle, or with a request sent half-way) to make room, or, when every connection is being
///   answered, answers 503 (`Connection: close`, `Retry-After`) and closes before reading
///   anything: a flood cannot use up the process's file descriptors, nor keep requests out;
/// - it closes a connection that has gone `idleTimeout` without a request part while no request
///   is being answered: an idle keep-alive connection, or a request whose head or body stopped
///   half-way (a generation being computed or a stream being written is never cut);
/// - it tells the connection's `ConnectionWatch` when the client closes or half-closes its side.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let tracker: ConnectionTracker
    private let idleTimeout: TimeAmount?
    private let logger: Logger
    private var watch: ConnectionWatch?
    private var started = false
    /// Requests whose head has been read and whose reply has not ended.
    private var unanswered = 0
    /// True between a request's head and its end.
    private var midRequest = false
    /// What the tracker was last told about `busy`.
    private var reportedBusy = false
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?

    /// - Parameter idleTimeout: nil never closes an idle connection.
    init(tracker: ConnectionTracker, idleTimeout: TimeAmount?, logger: Logger) {
        self.tracker = tracker
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { watch?.clientWent() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            midRequest = true
        case .body:
            break
        case .end:
            midRequest = false
        }
        lastActivity = .now()
        reportBusy(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            lastActivity = .now()
            reportBusy(context)
        }
        context.write(data, promise: promise)
    }

    /// A request has been read and its reply has not ended: the connection is not idle.
    private var busy: Bool { unanswered > 0 && !midRequest }

    /// Tells the tracker when `busy` changes (a busy connection is never evicted).
    private func reportBusy(_ context: ChannelHandlerContext) {
        guard watch != nil, busy != reportedBusy else { return }
        reportedBusy = busy
        tracker.setBusy(context.channel, busy)
    }

    // MARK: Admission

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        switch tracker.admit(context.channel) {
        case .admitted(let watch):
            self.watch = watch
        case .admittedEvicting(let watch, let evicted):
            self.watch = watch
            evicted.close(promise: nil)
            if let count = tracker.countEviction() {
                logger.notice("connection limit of \(tracker.limit) reached: closed \(count) idle or half-sent connection(s) to admit new ones (--max-connections)")
            }
        case .refused:
            refuse(context)
            return
        }
        lastActivity = .now()
        scheduleTimeout(context)
    }

    private func end(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let watch else { return }
        self.watch = nil
        watch.clientWent()
        tracker.release(context.channel)
    }

    /// Answers 503 and closes.
    private func refuse(_ context: ChannelHandlerContext) {
        if let count = tracker.countRefusal() {
            logger.warning("connection limit of \(tracker.limit) reached with every connection busy: refused \(count) connection(s) with 503 (--max-connections)")
        }
        let message = "the server is answering \(tracker.limit) connections, its limit; retry later"
        let body = ByteBuffer(string: APIError(.serviceUnavailable, message, code: "too_many_connections").body(a1111: false).serialized)
        let head = HTTPResponse(status: .serviceUnavailable, headerFields: [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes),
            .connection: "close", .retryAfter: "5",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
    }

    // MARK: Idle timeout

    private func scheduleTimeout(_ context: ChannelHandlerContext) {
        guard let idleTimeout, timer == nil else { return }
        // A request being answered is not idle: look again a whole timeout later.
        let deadline = (busy ? NIODeadline.now() : lastActivity) + idleTimeout
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            handler.checkIdle(context)
        }
    }

    private func checkIdle(_ context: ChannelHandlerContext) {
        guard watch != nil, let idleTimeout else { return }
        guard !busy, NIODeadline.now() >= lastActivity + idleTimeout else {
            scheduleTimeout(context)
            return
        }
        if let count = tracker.countTimeout() {
            let seconds = Double(idleTimeout.nanoseconds) / 1e9
            logger.notice("closed \(count) connection(s) idle for \(seconds) s (no request, or one sent half-way; --idle-timeout)")
        }
        context.close(promise: nil)
    }
}
