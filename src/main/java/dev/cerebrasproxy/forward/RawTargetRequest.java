package dev.cerebrasproxy.forward;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Optional;

import dev.cerebrasproxy.BoundedMemo;
import org.eclipse.jetty.client.Destination;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpConversation;
import org.eclipse.jetty.client.transport.HttpRequest;
import org.eclipse.jetty.util.component.LifeCycle;

/**
 * An upstream request whose query goes on the wire exactly as the client sent it.
 * Jetty's client parses a target with {@link java.net.URI}, which refuses queries that
 * clients send and servers take ({@code ?q=a|b}, {@code ?x=100%}, {@code ?a=%zz},
 * {@code ?b={}}), and decodes what it keeps into parameters; the request line is written
 * from {@link #getPath()} and {@link #getQuery()} as they are, so answering the raw path
 * and query here forwards them byte for byte. (The path needs no parsing: the container
 * has already decoded and checked it, and {@link UpstreamRoute} refused what could step
 * outside the upstream base.)
 * <p>
 * What Jetty works out per request and is the same for every request to one upstream is
 * worked out once, in {@link Upstream}: per request, Jetty parsed the target three times
 * ({@code path()}, then twice to build the URI its Host header is taken from) and resolved
 * the destination (an origin made, a map's bin and the destination's lock taken), about
 * 3% of the proxy's CPU under load together.
 */
final class RawTargetRequest extends HttpRequest
{
    private final Upstream upstream;
    private final String pathAndQuery;
    private final String path;
    private final String rawQuery;

    /**
     * @param pathAndQuery the target below the origin, still percent-encoded, with the query as the client sent it
     */
    RawTargetRequest(Upstream upstream, String pathAndQuery)
    {
        super(upstream.client, new HttpConversation(), upstream.origin);
        this.upstream = upstream;
        this.pathAndQuery = pathAndQuery;
        int question = pathAndQuery.indexOf('?');
        String rawPath = question < 0 ? pathAndQuery : pathAndQuery.substring(0, question);
        this.path = rawPath.isEmpty() ? "/" : rawPath;
        this.rawQuery = question < 0 ? null : pathAndQuery.substring(question + 1);
    }

    @Override
    public String getPath()
    {
        return path;
    }

    @Override
    public String getQuery()
    {
        return rawQuery;
    }

    /** The whole target, or null when {@link URI} cannot take it (Jetty's own answer then); the Host header comes from it. */
    @Override
    public URI getURI()
    {
        return upstream.uriOf(pathAndQuery);
    }

    @Override
    public void send(Response.CompleteListener listener)
    {
        Destination destination;
        try
        {
            destination = upstream.destinationOf(this);
        }
        catch (RuntimeException unresolvable)
        {
            super.send(listener); // Jetty's own way, which tells the listener why
            return;
        }
        destination.send(this, listener);
    }

    /** The one upstream all the proxy's requests go to, with what is the same for all of them. */
    static final class Upstream
    {
        /** Distinct targets remembered: a client's requests go to a few. */
        static final int MAX_TARGETS = 256;

        private final HttpClient client;
        private final URI origin;
        private final String originText;
        private final BoundedMemo<String, Optional<URI>> uris = new BoundedMemo<>(MAX_TARGETS, this::parse);
        private volatile Destination destination;

        /** @param origin upstream's scheme, host and port */
        Upstream(HttpClient client, URI origin)
        {
            this.client = client;
            this.origin = origin;
            this.originText = origin.toString();
        }

        RawTargetRequest newRequest(String pathAndQuery)
        {
            return new RawTargetRequest(this, pathAndQuery);
        }

        URI uriOf(String pathAndQuery)
        {
            return uris.get(pathAndQuery).orElse(null);
        }

        private Optional<URI> parse(String pathAndQuery)
        {
            try
            {
                return Optional.of(new URI(originText + pathAndQuery));
            }
            catch (URISyntaxException refused)
            {
                return Optional.empty();
            }
        }

        /**
         * Every request has the same origin (no tag, transport or version of its own), so the
         * same destination: the one resolved first, while it runs (it stops with the client);
         * null before the first request and once it has stopped.
         */
        Destination destination()
        {
            Destination known = destination;
            return known instanceof LifeCycle running && running.isRunning() ? known : null;
        }

        /** The destination every request takes: the one known while it runs, else resolved now. */
        Destination destinationOf(RawTargetRequest request)
        {
            Destination known = destination();
            if (known == null)
                destination = known = client.resolveDestination(request);
            return known;
        }
    }
}
