import Foundation

/// Whether the client of one connection is still there. Routes register what to do when it goes
/// away (closes or half-closes its side), e.g. cancel the generation job it waits for, without
/// reading the connection themselves — so the connection stays usable for the next request.
final class ConnectionWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var gone = false
    private var actions: [Int: @Sendable () -> Void] = [:]
    private var nextKey = 0

    /// Runs `action` once when the client goes away (at once if it already has).
    /// - Returns: a key for `remove(_:)`.
    @discardableResult
    func onClientGone(_ action: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        guard !gone else {
            lock.unlock()
            action()
            return -1
        }
        let key = nextKey
        nextKey += 1
        actions[key] = action
        lock.unlock()
        return key
    }

    /// Forgets an action (its request has been answered).
    func remove(_ key: Int) {
        lock.lock()
        actions[key] = nil
        lock.unlock()
    }

    /// Marks the client gone and runs the registered actions (once).
    func clientWent() {
        lock.lock()
        guard !gone else {
            lock.unlock()
            return
        }
        gone = true
        let pending = Array(actions.values)
        actions.removeAll()
        lock.unlock()
        for action in pending { action() }
    }
}
