package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A sealed message opens once, under its key, within the window of the receiver's clock. */
class TestPingSeal {
    final AtomicLong now = new AtomicLong(1_800_000_000_000L);
    final byte[] key = key();
    final PingSeal sender = new PingSeal(key, now::get);
    final PingSeal receiver = new PingSeal(key, now::get);

    @Test
    void a_sealed_message_opens_once_and_its_replay_is_rejected() {
        String sealed = sender.seal(Ping.control("revoke", "abcd1234"));
        Ping.Control c = assertInstanceOf(Ping.Control.class, receiver.open(sealed));
        assertEquals("abcd1234", c.value());
        assertNull(receiver.open(sealed));
        assertEquals(1, receiver.rejected());
    }

    @Test
    void a_message_sealed_outside_the_window_is_rejected() {
        String sealed = sender.seal(Ping.control("revoke", "abcd1234"));
        now.addAndGet(PingSeal.WINDOW.toMillis() + 1);
        assertNull(receiver.open(sealed));
    }

    @Test
    void another_key_opens_nothing_and_a_changed_byte_breaks_the_seal() {
        String sealed = sender.seal(Ping.control("revoke", "abcd1234"));
        assertNull(new PingSeal(key(), now::get).open(sealed));
        char flipped = sealed.charAt(20) == 'A' ? 'B' : 'A';
        assertNull(receiver.open(sealed.substring(0, 20) + flipped + sealed.substring(21)));
    }

    @Test
    void plain_payloads_pass_only_as_change_pings() {
        assertInstanceOf(Ping.Change.class, receiver.open("{\"t\":\"a\",\"s\":\"user:x\",\"c\":3}"));
        assertNull(receiver.open(Ping.control("revoke", "abcd1234")));
        assertNull(receiver.open("{\"t\":\"a\",\"s\":\"user:x\",\"x\":\"error\",\"d\":{}}"));
    }

    @Test
    void the_sealed_size_is_what_goes_on_the_wire() {
        for (int n = 0; n < 40; n++) {
            String json = Ping.control("k", "v".repeat(n * 37));
            assertEquals(PingSeal.sealedBytes(json), sender.seal(json).length());
        }
    }

    private static byte[] key() {
        byte[] k = new byte[32];
        ThreadLocalRandom.current().nextBytes(k);
        return k;
    }
}
