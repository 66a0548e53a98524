package dev.herald.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Sends arbitrary bytes as an HTTP request and reads one response: for requests no
 * well-behaved client library would send (bad request lines, header floods, raw bytes).
 */
final class RawHttp {
    record Response(int status, Map<String, String> headers, String body, boolean closedWithoutResponse) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        @Override
        public String toString() {
            return closedWithoutResponse
                    ? "(closed without a response)"
                    : status + " " + headers.get("content-type") + " " + body;
        }
    }

    private RawHttp() {}

    static Response send(int port, byte[] request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout(15_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException e) {
                // the server may answer and close before reading everything
            }
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) all.write(buf, 0, n);
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // keep what came
            }
            return parse(all.toByteArray());
        }
    }

    static Response send(int port, String request) throws IOException {
        return send(port, request.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static Response parse(byte[] raw) {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/") || headEnd < 0) return new Response(-1, Map.of(), text, true);
        String[] lines = text.substring(0, headEnd).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0)
                headers.put(
                        lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT),
                        lines[i].substring(c + 1).trim());
        }
        String rest = text.substring(headEnd + 4);
        String body;
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            StringBuilder b = new StringBuilder();
            int pos = 0;
            while (true) {
                int eol = rest.indexOf("\r\n", pos);
                if (eol < 0) break;
                int size =
                        Integer.parseInt(rest.substring(pos, eol).split(";")[0].trim(), 16);
                if (size == 0) break;
                b.append(rest, eol + 2, Math.min(rest.length(), eol + 2 + size));
                pos = eol + 2 + size + 2;
            }
            body = b.toString();
        } else if (headers.containsKey("content-length")) {
            int len = Integer.parseInt(headers.get("content-length"));
            body = rest.substring(0, Math.min(len, rest.length()));
        } else {
            body = rest;
        }
        return new Response(
                status, headers, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8), false);
    }
}
