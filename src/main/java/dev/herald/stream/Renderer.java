package dev.herald.stream;

/**
 * Turns a stored event into what an SSE client receives: the {@code event:} name and the
 * one-line JSON {@code data:}. One renderer per stream kind, so each event is encoded once
 * per replica however many subscribers read it.
 */
public interface Renderer {
    Renderer AS_STORED = e -> new Rendered(e.type(), e.data());

    Rendered render(Event e);

    record Rendered(String event, String data) {}
}
