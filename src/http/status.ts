// Reason phrases (RFC 9110 §15) for the statuses the server sends itself or
// that handlers commonly use. Data, not code, and not heap: one string
// literal (in the image, not the heap; an array, or JSON.parse of one, would
// hold every phrase on the device's heap for good) searched natively.
const PHRASES =
    "\n100 Continue\n101 Switching Protocols\n200 OK\n201 Created\n204 No Content\n206 Partial Content\n301 Moved Permanently\n302 Found\n304 Not Modified\n400 Bad Request\n401 Unauthorized\n403 Forbidden\n404 Not Found\n405 Method Not Allowed\n408 Request Timeout\n411 Length Required\n413 Content Too Large\n414 URI Too Long\n417 Expectation Failed\n426 Upgrade Required\n431 Request Header Fields Too Large\n500 Internal Server Error\n501 Not Implemented\n503 Service Unavailable\n505 HTTP Version Not Supported\n"

export function reasonPhrase(code: number): string {
    if (code === 200) return "OK"
    const i = PHRASES.indexOf("\n" + code + " ")
    return i < 0 ? "Status" : PHRASES.slice(i + 5, PHRASES.indexOf("\n", i + 1))
}
