package dev.cerebrasproxy.access;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Who may use the pool: each client's name and a digest of its token
 * ({@code PROXY_CLIENT_TOKENS}). A client presents its token the way SDKs send their
 * "API key": {@code Authorization: Bearer <token>} (OpenAI, Cerebras) or
 * {@code x-api-key: <token>} (Anthropic-style). With no tokens configured the proxy is
 * open and every request counts as {@link #ANONYMOUS}.
 */
public final class ClientTokens
{
    /** The client name of every request when no tokens are configured. */
    public static final String ANONYMOUS = "anonymous";
    /** The client name recorded for a request refused for want of a valid token. */
    public static final String UNAUTHENTICATED = "unauthenticated";
    public static final ClientTokens OPEN = new ClientTokens(List.of());

    private record Client(String name, byte[] digest, ClientLimits limits)
    {
    }

    private final List<Client> clients;

    private ClientTokens(List<Client> clients)
    {
        this.clients = clients;
    }

    /** @param tokensByName client name to token; the tokens are kept only as digests */
    public static ClientTokens of(Map<String, String> tokensByName)
    {
        return of(tokensByName, Map.of());
    }

    /**
     * @param tokensByName client name to token; the tokens are kept only as digests
     * @param limitsByName the limits of the clients that have some; the others are unlimited
     */
    public static ClientTokens of(Map<String, String> tokensByName, Map<String, ClientLimits> limitsByName)
    {
        List<Client> clients = new ArrayList<>(tokensByName.size());
        tokensByName.forEach((name, token) -> clients.add(new Client(name, TokenDigest.of(token), limitsByName.getOrDefault(name, ClientLimits.NONE))));
        return new ClientTokens(List.copyOf(clients));
    }

    /** Whether requests must carry a token. */
    public boolean required()
    {
        return !clients.isEmpty();
    }

    public List<String> names()
    {
        return clients.stream().map(Client::name).toList();
    }

    /** The limits of this client: {@link ClientLimits#NONE} for one without limits, or not known (anonymous). */
    public ClientLimits limitsOf(String name)
    {
        for (Client client : clients)
        {
            if (client.name().equals(name))
                return client.limits();
        }
        return ClientLimits.NONE;
    }

    /**
     * The name of the client whose token the request carries in either header, or null if
     * it carries none that is valid. With no tokens configured, {@link #ANONYMOUS}.
     */
    public String clientOf(String authorization, String apiKey)
    {
        if (!required())
            return ANONYMOUS;
        String byBearer = nameOf(TokenDigest.bearerOf(authorization));
        return byBearer != null ? byBearer : nameOf(apiKey == null ? null : apiKey.strip());
    }

    private String nameOf(String token)
    {
        if (token == null || token.isEmpty())
            return null;
        byte[] digest = TokenDigest.of(token);
        String found = null;
        // Look at every client, matched or not, so the time taken does not say which one matched.
        for (Client client : clients)
        {
            if (java.security.MessageDigest.isEqual(client.digest(), digest))
                found = client.name();
        }
        return found;
    }
}
