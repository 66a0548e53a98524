package dev.herald.stream;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * What gives a message on the channel authority. PostgreSQL checks no privilege for NOTIFY or
 * LISTEN: any role that can connect may send any payload on {@value Ping#CHANNEL} and read every
 * other. A change ping needs no authority (it only makes a replica re-query committed rows), so
 * it travels as plain JSON, as the SQL publish functions send it. Everything else Herald says —
 * worker signals, token revocations, the watchdog's self-ping — is sealed: AES-256-GCM under
 * the key only Herald's role can read, which authenticates it and hides it from other
 * listeners. A sealed message carries the sender's clock and is accepted once, within
 * {@link #WINDOW} of the receiver's clock, so a captured payload cannot be replayed. Anything
 * else is dropped and counted: a forged payload costs a replica at most a re-query.
 *
 * <p>Wire form: {@value #PREFIX} + base64url(nonce[12] ‖ AES-GCM(at[8] ‖ JSON) ‖ tag[16]), no
 * padding.
 */
public final class PingSeal {
    static final String PREFIX = "~1";
    /**
     * How far a sealed message's clock may be from the receiver's, and so how long a nonce is
     * remembered (at 1,000 signals a second: 60,000 nonces, ≈ 6 MB). Replicas' clocks must agree
     * within it; NOTIFY itself delivers in milliseconds.
     */
    static final Duration WINDOW = Duration.ofSeconds(60);

    private static final int NONCE_BYTES = 12;
    private static final int AT_BYTES = 8;
    private static final int TAG_BITS = 128;
    private static final int OVERHEAD = NONCE_BYTES + AT_BYTES + TAG_BITS / 8;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final SecretKeySpec key;
    private final LongSupplier clockMillis;
    private final SecureRandom random = new SecureRandom();
    /** Nonces accepted within the window, oldest first (nonce → the message's clock). */
    private final LinkedHashMap<String, Long> seen = new LinkedHashMap<>();

    private final AtomicLong rejected = new AtomicLong();

    public PingSeal(byte[] key) {
        this(key, System::currentTimeMillis);
    }

    PingSeal(byte[] key, LongSupplier clockMillis) {
        if (key.length != 32) throw new IllegalArgumentException("the ping key must be 32 bytes");
        this.key = new SecretKeySpec(key, "AES");
        this.clockMillis = clockMillis;
    }

    /** The bytes a JSON message takes on the channel once sealed (PostgreSQL's limit is 7,999). */
    public static int sealedBytes(String json) {
        int raw = OVERHEAD + json.getBytes(StandardCharsets.UTF_8).length;
        return PREFIX.length() + (raw * 4 + 2) / 3;
    }

    /** Seals a message built by {@link Ping}. */
    public String seal(String json) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer plain = ByteBuffer.allocate(AT_BYTES + body.length);
        plain.putLong(clockMillis.getAsLong()).put(body);
        try {
            Cipher c = cipher(Cipher.ENCRYPT_MODE, nonce);
            byte[] out = new byte[NONCE_BYTES + c.getOutputSize(plain.capacity())];
            System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
            c.doFinal(plain.array(), 0, plain.capacity(), out, NONCE_BYTES);
            return PREFIX + B64.encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is unavailable", e);
        }
    }

    /**
     * The message a payload read off the channel may carry, or null when it carries none: a plain
     * payload that is not a change ping, a seal that does not open under the key, a sealed
     * message outside the window or seen before.
     */
    public Ping.Message open(String payload) {
        try {
            if (!payload.startsWith(PREFIX)) {
                Ping.Message m = Ping.parse(payload);
                return m instanceof Ping.Change ? m : reject();
            }
            byte[] in = B64D.decode(payload.substring(PREFIX.length()));
            if (in.length < OVERHEAD) return reject();
            Cipher c = cipher(Cipher.DECRYPT_MODE, java.util.Arrays.copyOf(in, NONCE_BYTES));
            ByteBuffer plain = ByteBuffer.wrap(c.doFinal(in, NONCE_BYTES, in.length - NONCE_BYTES));
            long at = plain.getLong();
            String nonce = HexFormat.of().formatHex(in, 0, NONCE_BYTES);
            if (!firstSeen(nonce, at)) return reject();
            return Ping.parse(new String(plain.array(), plain.position(), plain.remaining(), StandardCharsets.UTF_8));
        } catch (GeneralSecurityException | IllegalArgumentException | java.io.IOException e) {
            return reject();
        }
    }

    /** Payloads dropped since start: plain ones claiming authority, bad seals, replays. */
    public long rejected() {
        return rejected.get();
    }

    private synchronized boolean firstSeen(String nonce, long at) {
        long now = clockMillis.getAsLong();
        long window = WINDOW.toMillis();
        if (Math.abs(now - at) > window) return false;
        for (Iterator<Map.Entry<String, Long>> it = seen.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() >= now - 2 * window) break;
            it.remove();
        }
        return seen.putIfAbsent(nonce, at) == null;
    }

    private Ping.Message reject() {
        rejected.incrementAndGet();
        return null;
    }

    private Cipher cipher(int mode, byte[] nonce) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(mode, key, new GCMParameterSpec(TAG_BITS, nonce));
        return c;
    }
}
