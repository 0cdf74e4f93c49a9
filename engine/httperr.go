package engine

import "strconv"

// The responses fjord writes itself, as complete messages that close the
// connection. Bodies are HAProxy's built-in error pages (src/http.c), so
// that monitoring which greps for them keeps working.
var httpErrors = map[int][]byte{
	400: errorPage(400, "Bad request", "Your browser sent an invalid request."),
	403: errorPage(403, "Forbidden", "Request forbidden by administrative rules."),
	404: errorPage(404, "Not Found", "The resource could not be found."),
	405: errorPage(405, "Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"),
	429: errorPage(429, "Too Many Requests", "You have sent too many requests in a given amount of time."),
	500: errorPage(500, "Internal Server Error", "An internal server error occurred."),
	408: errorPage(408, "Request Time-out", "Your browser didn't send a complete request in time."),
	502: errorPage(502, "Bad Gateway", "The server returned an invalid or incomplete response."),
	503: errorPage(503, "Service Unavailable", "No server is available to handle this request."),
	504: errorPage(504, "Gateway Time-out", "The server didn't respond in time."),
}

func errorPage(code int, reason, text string) []byte {
	c := strconv.Itoa(code)
	body := "<html><body><h1>" + c + " " + reason + "</h1>\n" + text + "\n</body></html>\n"
	return []byte("HTTP/1.1 " + c + " " + reason + "\r\n" +
		"Content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Cache-Control: no-cache\r\n" +
		"Connection: close\r\n" +
		"Content-Type: text/html\r\n" +
		"\r\n" + body)
}
