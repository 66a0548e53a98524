package dev.herald.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal HTTP/1.1 keep-alive client over one blocking socket: cheap enough that the load
 * generator does not eat the CPU the server needs. One thread uses one connection.
 */
final class HttpConn implements Closeable {
    record Response(int status, String body) {}

    private final int port;
    private Socket socket;
    private OutputStream out;
    private InputStream in;

    HttpConn(int port) {
        this.port = port;
    }

    private void open() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(30_000);
        s.bind(Net.nextSource());
        s.connect(Net.server(port), 5_000);
        socket = s;
        out = s.getOutputStream();
        in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
    }

    Response post(String path, String token, String json) throws IOException {
        return send("POST", path, token, json);
    }

    Response get(String path, String token) throws IOException {
        return send("GET", path, token, null);
    }

    Response send(String method, String path, String token, String json) throws IOException {
        byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(256).append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if (token != null) head.append("Authorization: Bearer ").append(token).append("\r\n");
        if (json != null) head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        head.append("\r\n");
        byte[] h = head.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] req = new byte[h.length + body.length];
        System.arraycopy(h, 0, req, 0, h.length);
        System.arraycopy(body, 0, req, h.length, body.length);
        for (int attempt = 0; ; attempt++) {
            boolean fresh = socket == null;
            if (fresh) open();
            try {
                out.write(req);
                out.flush();
                return read();
            } catch (IOException e) {
                close();
                // A kept-alive connection the server closed meanwhile: retry once on a new one.
                if (fresh || attempt > 0) throw e;
            }
        }
    }

    private Response read() throws IOException {
        String status = line();
        if (status == null) throw new IOException("connection closed before the response");
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false, close = false;
        for (int i = 0; i < 200; i++) {
            String l = line();
            if (l == null) throw new IOException("connection closed in the headers");
            if (l.isEmpty()) break;
            int c = l.indexOf(':');
            if (c < 0) continue;
            String name = l.substring(0, c).trim();
            String value = l.substring(c + 1).trim();
            if (name.equalsIgnoreCase("Content-Length")) length = Long.parseLong(value);
            else if (name.equalsIgnoreCase("Transfer-Encoding") && value.toLowerCase().contains("chunked")) chunked = true;
            else if (name.equalsIgnoreCase("Connection") && value.equalsIgnoreCase("close")) close = true;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            for (int i = 0; i < 100_000; i++) {
                String size = line();
                if (size == null) throw new IOException("connection closed in a chunk");
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (n == 0) {
                    while (true) {
                        String t = line();
                        if (t == null || t.isEmpty()) break;
                    }
                    break;
                }
                body.write(in.readNBytes(n));
                line();
            }
        } else if (length >= 0) {
            body.write(in.readNBytes((int) length));
        } else {
            body.write(in.readAllBytes());
            close = true;
        }
        if (close) close();
        return new Response(code, body.toString(StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        for (int i = 0; i < 65_536; i++) {
            int b = in.read();
            if (b < 0) return i == 0 ? null : sb.toString();
            if (b == '\n') {
                int n = sb.length();
                if (n > 0 && sb.charAt(n - 1) == '\r') sb.setLength(n - 1);
                return sb.toString();
            }
            sb.append((char) b);
        }
        throw new IOException("header line too long");
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        socket = null;
    }
}
