package dev.cerebrasproxy.support;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import dev.cerebrasproxy.config.RedisSettings;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import redis.clients.jedis.RedisClient;

/**
 * Replicas of the proxy, each on its own manual clock, in front of one fake Cerebras and
 * sharing one {@link RedisServer} as the README's ACL user: before each test Redis is
 * emptied and a fresh fake started; after it every replica the test started, and the
 * fake, are closed, and the test fails if Redis refused that user anything.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final RedisServer redis = new RedisServer();
 * &#64;RegisterExtension
 * final Replicas replicas = new Replicas(redis);
 * </pre>
 */
public final class Replicas implements BeforeEachCallback, AfterEachCallback
{
    private final RedisServer redis;
    private final List<ProxyUnderTest> started = new ArrayList<>();
    private FakeCerebras upstream;

    public Replicas(RedisServer redis)
    {
        this.redis = redis;
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception
    {
        redis.empty();
        upstream = new FakeCerebras();
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception
    {
        for (ProxyUnderTest replica : started)
            replica.close();
        started.clear();
        upstream.close();
        List<String> denied = redis.denied();
        if (!denied.isEmpty() && context.getExecutionException().isEmpty())
            throw new AssertionError("Redis refused the README's ACL user: " + denied);
    }

    /** The fake Cerebras every replica forwards to. */
    public FakeCerebras upstream()
    {
        return upstream;
    }

    /** Starts one more replica with Redis's URL and these settings (name, value, ...). */
    public ProxyUnderTest start(String... settings) throws Exception
    {
        List<String> all = new ArrayList<>(List.of(RedisSettings.URL, redis.restrictedUrl()));
        all.addAll(List.of(settings));
        ProxyUnderTest replica = ProxyUnderTest.startOnManualClock(upstream, all.toArray(String[]::new));
        started.add(replica);
        return replica;
    }

    /** The replica started {@code index}-th in this test. */
    public ProxyUnderTest get(int index)
    {
        return started.get(index);
    }

    public List<ProxyUnderTest> all()
    {
        return Collections.unmodifiableList(started);
    }
}
