package dev.herald.http;

import dev.herald.json.Json;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty answers some requests itself, before any route runs: a header block over 8 KB (431),
 * a URI over 8 KB (414), a malformed request line, URI or Content-Length (400), an unknown
 * HTTP version (505). Its default error page is HTML; API.md says every error body is
 * {@code {"error":{"code","message"}}}, so these are JSON too, for every method, with
 * Jetty's one-line reason as the message and never a stack trace.
 */
public final class JsonErrorHandler extends ErrorHandler {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = response.getStatus();
        String message = request.getAttribute(ERROR_MESSAGE) instanceof String m ? m : null;
        if (request.getAttribute(ERROR_EXCEPTION) instanceof HttpException http) {
            status = http.getCode();
            if (message == null) message = http.getReason();
        }
        if (status < 400) status = 500;
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        // Jetty closes the connection after a request it could not parse, without saying so:
        // a pooling client then sends its next request into the closed connection ("received
        // no bytes"). Say it. Found by the hostile-input test.
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
        if (HttpStatus.hasNoBody(status) || "HEAD".equals(request.getMethod())) {
            callback.succeeded();
            return true;
        }
        if (message == null || message.isBlank()) message = HttpStatus.getMessage(status);
        message = message.replaceAll("\\p{Cntrl}", "?");
        if (message.length() > 200) message = message.substring(0, 200) + "…";
        byte[] body = Json.write(Map.of("error", Map.of("code", WebServer.codeFor(status), "message", message)))
                .getBytes(StandardCharsets.UTF_8);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, JsonResponses.CONTENT_TYPE);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }
}
