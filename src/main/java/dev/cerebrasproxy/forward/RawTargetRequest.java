package dev.cerebrasproxy.forward;

import java.net.URI;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.transport.HttpConversation;
import org.eclipse.jetty.client.transport.HttpRequest;

/**
 * An upstream request whose query goes on the wire exactly as the client sent it.
 * Jetty's client parses a target with {@link java.net.URI}, which refuses queries that
 * clients send and servers take ({@code ?q=a|b}, {@code ?x=100%}, {@code ?a=%zz},
 * {@code ?b={}}), and decodes what it keeps into parameters; the request line is written
 * from {@link #getPath()} and {@link #getQuery()} as they are, so answering the raw query
 * here forwards it byte for byte. (The path needs no such care: the container has
 * already decoded and checked it, and {@link UpstreamRoute} refused what could step
 * outside the upstream base.)
 */
final class RawTargetRequest extends HttpRequest
{
    private final String rawQuery;

    /**
     * @param origin upstream's scheme, host and port
     * @param pathAndQuery the target below the origin, still percent-encoded, with the query as the client sent it
     */
    RawTargetRequest(HttpClient client, URI origin, String pathAndQuery)
    {
        super(client, new HttpConversation(), origin);
        int question = pathAndQuery.indexOf('?');
        path(question < 0 ? pathAndQuery : pathAndQuery.substring(0, question));
        this.rawQuery = question < 0 ? null : pathAndQuery.substring(question + 1);
    }

    @Override
    public String getQuery()
    {
        return rawQuery;
    }
}
