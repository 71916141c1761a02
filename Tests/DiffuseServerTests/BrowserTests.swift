import DiffuseFormats
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Drives the web page in headless Chromium over the DevTools protocol (on pipes, no extra
/// packages): the page loads, a prompt is typed and Enter pressed, live progress shows, an image
/// appears in the results and the gallery; an uploaded init image and "Vary" run image-to-image;
/// a screenshot is kept. Runs only with
/// DIFFUSE_BROWSER_TEST=1 (see tools/browser_test.sh).
final class BrowserTests: XCTestCase {
    /// Synchronous on purpose: the DevTools calls block, which must not happen on the
    /// cooperative threads the in-process server uses.
    func testTypingAPromptAndPressingEnterShowsAnImage() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DIFFUSE_BROWSER_TEST"] == "1" else {
            throw XCTSkip("set DIFFUSE_BROWSER_TEST=1 to run (tools/browser_test.sh)")
        }
        let executable = try Self.chromium(environment)
        let port = try Self.blocking { try await TestServers.shared.server(.standard).port }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("diffuse-browser-\(getpid())")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: profile) }
        let browser = try DevToolsBrowser(executable: executable, arguments: [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-pipe",
            "--user-data-dir=\(profile.path)", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--mute-audio", "--hide-scrollbars", "about:blank",
        ])
        defer { browser.close() }

        let target = try XCTUnwrap(try browser.call("Target.createTarget", ["url": "about:blank"])["targetId"] as? String)
        let session = try XCTUnwrap(try browser.call("Target.attachToTarget", ["targetId": target, "flatten": true])["sessionId"] as? String)
        let page = DevToolsPage(browser: browser, session: session)
        _ = try page.call("Page.enable")
        _ = try page.call("Emulation.setDeviceMetricsOverride", ["width": 1100, "height": 1000, "deviceScaleFactor": 1, "mobile": false])
        _ = try page.call("Page.navigate", ["url": "http://127.0.0.1:\(port)/"])

        // Loaded, with the model's samplers in the list.
        try page.waitFor("document.readyState === 'complete' && document.getElementById('sampler').options.length > 5", timeout: 30)
        XCTAssertEqual(try page.evaluate("document.getElementById('model').textContent") as? String, "sd1")
        // Small, quick settings (as a user would edit them), and a watch on what the page shows.
        _ = try page.evaluate("""
            (() => {
              const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event('input')); };
              set('steps', '40'); set('width', '48'); set('height', '32'); set('seed', '42'); set('sampler', 'euler_a');
              window.seen = { status: [], previews: 0 };
              new MutationObserver(() => window.seen.status.push(document.getElementById('status').textContent))
                .observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true });
              new MutationObserver(() => { if (!document.getElementById('preview').hidden) window.seen.previews++; })
                .observe(document.getElementById('preview'), { attributes: true });
              return true;
            })()
            """)

        // Type the prompt and press Enter.
        _ = try page.evaluate("document.getElementById('prompt').focus()")
        _ = try page.call("Input.insertText", ["text": "a lighthouse at dawn"])
        for type in ["keyDown", "keyUp"] {
            _ = try page.call("Input.dispatchKeyEvent", ["type": type, "key": "Enter", "code": "Enter",
                                                         "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13, "text": "\r"])
        }

        try page.waitFor("""
            (() => { const img = document.querySelector('#results img');
                     return !!img && img.complete && img.naturalWidth === 48 && img.naturalHeight === 32; })()
            """, timeout: 120)
        let status = try XCTUnwrap(try page.evaluate("document.getElementById('status').textContent") as? String)
        XCTAssertTrue(status.hasPrefix("Done in ") && status.contains("seed 42"), status)
        XCTAssertEqual(try page.evaluate("document.getElementById('prompt').value") as? String, "a lighthouse at dawn",
                       "Enter submitted instead of adding a line")
        let seen = try XCTUnwrap(try page.evaluate("JSON.stringify(window.seen)") as? String)
        XCTAssertTrue(seen.contains("/40"), "live step i/N progress was shown: \(seen.prefix(400))")
        XCTAssertTrue(try XCTUnwrap(try page.evaluate("window.seen.previews") as? Int) > 0, "a live preview was shown")
        XCTAssertEqual(try page.evaluate("document.querySelectorAll('#gallery figure').length") as? Int, 1)
        XCTAssertEqual(try page.evaluate("document.querySelector('#gallery a[download]').getAttribute('download')") as? String,
                       "diffuse-42.png")
        let caption = try XCTUnwrap(try page.evaluate("document.querySelector('#results figcaption').textContent") as? String)
        XCTAssertTrue(caption.contains("Seed: 42") && caption.contains("Sampler: Euler a"), caption)

        // An uploaded init image (img2img): the size follows it, Generate runs image-to-image.
        XCTAssertEqual(try page.evaluate("getComputedStyle(document.getElementById('init-thumb')).display") as? String, "none")
        let upload = profile.appendingPathComponent("init.png")
        try PNGEncoder.encode(try TestImages.gradient(width: 40, height: 24)).write(to: upload)
        let root = try XCTUnwrap((try page.call("DOM.getDocument")["root"] as? [String: Any])?["nodeId"] as? Int)
        let input = try XCTUnwrap(try page.call("DOM.querySelector", ["nodeId": root, "selector": "#init-file"])["nodeId"] as? Int)
        _ = try page.call("DOM.setFileInputFiles", ["nodeId": input, "files": [upload.path]])
        try page.waitFor("document.getElementById('width').value === '40' && document.getElementById('height').value === '24'", timeout: 30)
        XCTAssertNotEqual(try page.evaluate("getComputedStyle(document.getElementById('init-thumb')).display") as? String, "none")
        _ = try page.evaluate("document.getElementById('generate').click()")
        try page.waitFor("""
            document.querySelectorAll('#gallery figure').length === 2 && document.getElementById('status').textContent.startsWith('Done')
            """, timeout: 120)
        let fromUpload = try XCTUnwrap(try page.evaluate("document.querySelector('#results figcaption').textContent") as? String)
        XCTAssertTrue(fromUpload.contains("Size: 40x24") && fromUpload.contains("Denoising strength: 0.6"), fromUpload)

        // "Vary": image-to-image from a result, with the result as the init image.
        _ = try page.evaluate("document.getElementById('init-clear').click()")
        XCTAssertEqual(try page.evaluate("getComputedStyle(document.getElementById('init-thumb')).display") as? String, "none")
        _ = try page.evaluate("document.querySelector('#results figure button').click()")
        try page.waitFor("""
            document.querySelectorAll('#gallery figure').length === 3 && document.getElementById('status').textContent.startsWith('Done')
            """, timeout: 120)
        XCTAssertNotEqual(try page.evaluate("getComputedStyle(document.getElementById('init-thumb')).display") as? String, "none")
        let varied = try XCTUnwrap(try page.evaluate("document.querySelector('#results figcaption').textContent") as? String)
        XCTAssertTrue(varied.contains("Denoising strength: 0.6") && !varied.contains("Seed: 42,"), varied)

        // Keep a screenshot.
        let shot = try page.call("Page.captureScreenshot", ["format": "png"])
        let png = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(shot["data"] as? String)))
        let image = try PNGDecoder.decode(png, name: "screenshot")
        XCTAssertEqual([image.width, image.height], [1100, 1000])
        let folder = environment["DIFFUSE_BROWSER_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/browser-test")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("page-after-generate.png")
        try png.write(to: file)
        print("browser test screenshot: \(file.path)")
    }

    /// Runs async work from this synchronous test and waits for it.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, any Error>?
        Task.detached {
            do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
            done.signal()
        }
        done.wait()
        return try outcome!.get()
    }

    /// The Chromium binary: $CHROMIUM, Debian's /usr/lib/chromium/chromium, or `chromium` on PATH.
    static func chromium(_ environment: [String: String]) throws -> String {
        var candidates = [environment["CHROMIUM"], "/usr/lib/chromium/chromium"].compactMap { $0 }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            candidates += ["\(folder)/chromium", "\(folder)/chromium-browser", "\(folder)/google-chrome"]
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestFailure("no Chromium found: apt-get install chromium, or set CHROMIUM")
        }
        return found
    }
}

/// A Chromium process spoken to over `--remote-debugging-pipe`: JSON messages ending in NUL,
/// commands on the child's fd 3, replies and events on its fd 4.
final class DevToolsBrowser {
    private let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var nextID = 0
    private var pending = Data()
    private var closed = false

    init(executable: String, arguments: [String]) throws {
        var commands: [Int32] = [0, 0], replies: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&replies) == 0 else { throw TestFailure("pipe() failed: errno \(errno)") }
        // Move the pipe ends above 4, so the dup2s below cannot clobber one another.
        func high(_ fd: Int32) -> Int32 {
            let moved = fcntl(fd, F_DUPFD, 10)
            Glibc.close(fd)
            return moved
        }
        let (childIn, parentOut) = (high(commands[0]), high(commands[1]))
        let (parentIn, childOut) = (high(replies[0]), high(replies[1]))
        _ = fcntl(parentOut, F_SETFD, FD_CLOEXEC)
        _ = fcntl(parentIn, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, childIn, 3)
        posix_spawn_file_actions_adddup2(&actions, childOut, 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, environ)
        Glibc.close(childIn)
        Glibc.close(childOut)
        guard status == 0 else {
            Glibc.close(parentOut)
            Glibc.close(parentIn)
            throw TestFailure("cannot start \(executable): error \(status)")
        }
        pid = child
        toBrowser = parentOut
        fromBrowser = parentIn
    }

    deinit { close() }

    /// Sends a command (to the browser, or to a page when `session` is given) and returns its
    /// result, skipping events; fails on a protocol error or after `timeout` seconds.
    func call(_ method: String, _ params: [String: Any] = [:], session: String? = nil, timeout: Double = 30) throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        let data = try JSONSerialization.data(withJSONObject: message) + Data([0])
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(toBrowser, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno != EINTR { throw TestFailure("writing to Chromium failed: errno \(errno)") }
                if n > 0 { offset += n }
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = pending.firstIndex(of: 0) {
                let body = pending[pending.startIndex ..< end]
                pending = Data(pending[(end + 1)...])
                guard let reply = try JSONSerialization.jsonObject(with: body) as? [String: Any], reply["id"] as? Int == id else {
                    continue  // an event, or a reply to something else
                }
                if let error = reply["error"] as? [String: Any] {
                    throw TestFailure("\(method) failed: \(error["message"] ?? error)")
                }
                return reply["result"] as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestFailure("no reply to \(method) in \(timeout) s") }
            var poller = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 || errno == EINTR else {
                throw TestFailure("poll failed: errno \(errno)")
            }
            if poller.revents & Int16(POLLIN | POLLHUP) != 0 {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                let n = read(fromBrowser, &buffer, buffer.count)
                if n == 0 { throw TestFailure("Chromium closed the pipe during \(method)") }
                if n > 0 { pending.append(contentsOf: buffer[0 ..< n]) }
            }
        }
    }

    /// Asks the browser to quit, then reaps it (killing it if it lingers).
    func close() {
        guard !closed else { return }
        closed = true
        _ = try? call("Browser.close", timeout: 5)
        Glibc.close(toBrowser)
        Glibc.close(fromBrowser)
        var status: Int32 = 0
        for _ in 0 ..< 50 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}

/// One page (an attached target session) of a `DevToolsBrowser`.
struct DevToolsPage {
    let browser: DevToolsBrowser
    let session: String

    func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
        try browser.call(method, params, session: session)
    }

    /// The value of a JavaScript expression (promises awaited).
    func evaluate(_ expression: String) throws -> Any? {
        let reply = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = reply["exceptionDetails"] as? [String: Any] {
            throw TestFailure("JavaScript threw: \((exception["exception"] as? [String: Any])?["description"] ?? exception)")
        }
        return (reply["result"] as? [String: Any])?["value"]
    }

    /// Polls `expression` until it is `true`.
    func waitFor(_ expression: String, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try evaluate(expression) as? Bool == true { return }
            usleep(50_000)
        }
        let status = (try? evaluate("document.getElementById('status') && document.getElementById('status').textContent")) ?? nil
        throw TestFailure("timed out after \(timeout) s waiting for \(expression.prefix(120)) (page status: \(status ?? "none"))")
    }
}
