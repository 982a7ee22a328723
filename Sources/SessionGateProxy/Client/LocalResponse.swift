import NIOCore
import NIOHTTP1

/// A response the proxy answers itself (errors, redirects), with a short JSON body that never
/// echoes request data.
struct LocalResponse {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: String

    init(status: HTTPResponseStatus, error: String, extraHeaders: [(String, String)] = []) {
        self.status = status
        self.body = "{\"error\":\"\(error)\"}\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        self.headers = headers
    }

    static func redirect(to location: String, extraHeaders: [(String, String)] = []) -> LocalResponse {
        var response = LocalResponse(status: .found, error: "unauthenticated", extraHeaders: extraHeaders)
        response.headers.add(name: "Location", value: location)
        return response
    }

    static let unauthenticated = LocalResponse(status: .unauthorized, error: "unauthenticated")
    static let forbidden = LocalResponse(status: .forbidden, error: "forbidden")
    static let storeUnavailable = LocalResponse(status: .serviceUnavailable, error: "session store unavailable")
    static let badGateway = LocalResponse(status: .badGateway, error: "upstream unavailable")
    static let badDirective = LocalResponse(status: .badGateway, error: "upstream sent an invalid session directive")
    static let gatewayTimeout = LocalResponse(status: .gatewayTimeout, error: "upstream timed out")
    static let payloadTooLarge = LocalResponse(status: .payloadTooLarge, error: "request body too large")
    static let headersTooLarge = LocalResponse(status: .init(statusCode: 431), error: "request header fields too large")
    static let sessionTooLarge = LocalResponse(status: .serviceUnavailable, error: "session too large for its cookie")
}
