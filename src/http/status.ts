// Reason phrases (RFC 9110 §15) for the statuses the server sends itself or
// that handlers commonly use. Data, not code: string literals cost no code
// bytes on the device (array literals are code that pushes each element);
// the VM's native JSON.parse reads the list (String.split loops per character).
/** Three-digit codes between spaces: " " + code i + " " starts at 4 * i. */
const CODES = " 100 101 200 201 204 206 301 302 304 400 401 403 404 405 408 411 413 414 417 426 431 500 501 503 505 "
const PHRASES: string[] = JSON.parse('["Continue","Switching Protocols","OK","Created","No Content","Partial Content","Moved Permanently","Found","Not Modified","Bad Request","Unauthorized","Forbidden","Not Found","Method Not Allowed","Request Timeout","Length Required","Content Too Large","URI Too Long","Expectation Failed","Upgrade Required","Request Header Fields Too Large","Internal Server Error","Not Implemented","Service Unavailable","HTTP Version Not Supported"]')

export function reasonPhrase(code: number): string {
    const i = CODES.indexOf(" " + code + " ")
    return i >= 0 ? PHRASES[i >> 2] : "Status"
}
