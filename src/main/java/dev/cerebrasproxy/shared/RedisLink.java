package dev.cerebrasproxy.shared;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

import javax.net.ssl.SSLParameters;

import dev.cerebrasproxy.config.RedisSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * The one way to Redis, and the rule that it is a helper, never a failure of the proxy:
 * each call runs on this link's own few threads (Jedis blocks), and the caller's stage
 * completes with Redis's answer or, past the bounded timeout or on any failure, with the
 * caller's answer from memory. The first failure marks the link degraded: one WARN (at
 * most one a minute), every call from memory at once, and a background PING, backing off
 * up to {@link #LONGEST_BACKOFF}, until Redis answers again and the link rejoins.
 */
final class RedisLink implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(RedisLink.class);
    /** Few: a call takes tens of microseconds, and the machine's cores serve requests. */
    private static final int THREADS = 4;
    /** Past this many waiting calls Redis is not keeping up; the rest go to memory. */
    private static final int QUEUE = 1024;
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
    static final Duration LONGEST_BACKOFF = Duration.ofSeconds(2);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final RedisSettings settings;
    private final RedisClient jedis;
    private final DefaultJedisClientConfig config;
    private final ThreadPoolExecutor calls;
    /**
     * The key pool's news: a lane of its own, so a request's client check never waits in line
     * behind news that no request waits for. One thread: news is coalesced per budget anyway.
     */
    private final ThreadPoolExecutor news;
    /** The timeouts of calls and the pings' schedule; the pings themselves run on {@link #calls}. */
    private final ScheduledThreadPoolExecutor timer;
    private final AtomicBoolean degraded = new AtomicBoolean();
    private volatile long lastWarnNanos = System.nanoTime() - WARN_EVERY_NANOS;
    private volatile Duration backoff = FIRST_BACKOFF;

    RedisLink(RedisSettings settings)
    {
        this.settings = settings;
        DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder()
            // A connection may take longer than a call (TLS): it happens off the request's wait anyway.
            .connectionTimeoutMillis((int)Math.max(2000, settings.timeout().toMillis()))
            // Longer than a call's wait, so a slow answer frees its thread without breaking the connection.
            .socketTimeoutMillis((int)Math.max(1000, settings.timeout().toMillis() * 4))
            .database(settings.database())
            .ssl(settings.tls())
            // rediss:// checks that the certificate names the host, as https does.
            .sslParameters(verifyingHost())
            .sslSocketFactory(settings.trust() == null ? null : socketsTrusting(settings.trust()))
            .clientName("cerebras-proxy");
        if (settings.user() != null)
            config.user(settings.user());
        if (settings.password() != null)
            config.password(settings.password());
        ConnectionPoolConfig pool = new ConnectionPoolConfig();
        pool.setMaxTotal(THREADS + 1);
        pool.setMaxIdle(THREADS + 1);
        pool.setMinIdle(0);
        pool.setMaxWait(settings.timeout());
        jedis = RedisClient.builder().hostAndPort(new HostAndPort(settings.host(), settings.port())).clientConfig(config.build()).poolConfig(pool).build();
        // The Jedis class a subscription needs speaks RESP2 only (and warns when left to negotiate).
        this.config = config.protocol(RedisProtocol.RESP2).build();
        calls = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(QUEUE), threads("cerebras-proxy-redis-"));
        calls.allowCoreThreadTimeOut(true);
        news = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(QUEUE), threads("cerebras-proxy-redis-news-sender-"));
        news.allowCoreThreadTimeOut(true);
        timer = new ScheduledThreadPoolExecutor(1, threads("cerebras-proxy-redis-timer-"));
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Sockets that trust what the store holds (PROXY_REDIS_TRUST_STORE) rather than the JVM's default authorities. */
    private static javax.net.ssl.SSLSocketFactory socketsTrusting(dev.cerebrasproxy.config.UpstreamTrust trust)
    {
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(trust.store()))
        {
            java.security.KeyStore store = java.security.KeyStore.getInstance(trust.storeType());
            store.load(in, trust.password() == null ? null : trust.password().toCharArray());
            javax.net.ssl.TrustManagerFactory trusting = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            trusting.init(store);
            javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
            context.init(null, trusting.getTrustManagers(), null);
            return context.getSocketFactory();
        }
        catch (java.io.IOException | java.security.GeneralSecurityException e)
        {
            // The class and reason only: a store's message never holds its password, but keep it short.
            throw new dev.cerebrasproxy.config.InvalidSettingsException(dev.cerebrasproxy.config.RedisSettings.TRUST_STORE + " cannot be read as a " + trust.storeType()
                + " trust store (" + e.getClass().getSimpleName() + "): point it at a PKCS12 or JKS file and set " + dev.cerebrasproxy.config.RedisSettings.TRUST_STORE_PASSWORD + " if it has a password.");
        }
    }

    private static SSLParameters verifyingHost()
    {
        SSLParameters parameters = new SSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        return parameters;
    }

    private static ThreadFactory threads(String prefix)
    {
        AtomicInteger count = new AtomicInteger();
        return task ->
        {
            Thread thread = new Thread(task, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** A connection of its own, outside the pool the calls share: a subscription holds one for as long as it lasts. */
    Jedis connection()
    {
        return new Jedis(new HostAndPort(settings.host(), settings.port()), config);
    }

    /** The pooled client, for a caller on a thread of its own (never a request's). */
    UnifiedJedis client()
    {
        return jedis;
    }

    RedisSettings settings()
    {
        return settings;
    }

    boolean degraded()
    {
        return degraded.get();
    }

    /**
     * Asks Redis, or answers from memory.
     *
     * @param remote the call, on one of the link's threads
     * @param answered what Redis's answer means, applied only if it came in time
     * @param fallback the answer from memory: applied instead, exactly when {@code answered} is not
     */
    <R, T> CompletionStage<T> call(Function<UnifiedJedis, R> remote, Function<R, T> answered, Supplier<T> fallback)
    {
        return call(calls, remote, answered, fallback);
    }

    /** As {@link #call}, on the news lane: for what no request waits for. */
    <R, T> CompletionStage<T> tell(Function<UnifiedJedis, R> remote, Function<R, T> answered, Supplier<T> fallback)
    {
        return call(news, remote, answered, fallback);
    }

    private <R, T> CompletionStage<T> call(ThreadPoolExecutor lane, Function<UnifiedJedis, R> remote, Function<R, T> answered, Supplier<T> fallback)
    {
        if (degraded.get())
            return CompletableFuture.completedFuture(fallback.get());
        CompletableFuture<T> result = new CompletableFuture<>();
        AtomicBoolean decided = new AtomicBoolean();
        ScheduledFuture<?> deadline;
        try
        {
            deadline = timer.schedule(() ->
            {
                if (decided.compareAndSet(false, true))
                {
                    failed("no answer within " + settings.timeout().toMillis() + " ms (" + RedisSettings.TIMEOUT_MS + ")");
                    result.complete(fallback.get());
                }
            }, settings.timeout().toNanos(), TimeUnit.NANOSECONDS);
            lane.execute(() ->
            {
                try
                {
                    R reply = remote.apply(jedis);
                    if (decided.compareAndSet(false, true))
                        result.complete(answered.apply(reply));
                }
                catch (RuntimeException e)
                {
                    if (decided.compareAndSet(false, true))
                    {
                        failed(brief(e));
                        result.complete(fallback.get());
                    }
                }
                finally
                {
                    deadline.cancel(false);
                }
            });
        }
        catch (RejectedExecutionException e)
        {
            // Closed, or more calls waiting than Redis is answering.
            if (decided.compareAndSet(false, true))
            {
                failed(lane.isShutdown() ? "the link is closed" : QUEUE + " calls already wait for Redis");
                result.complete(fallback.get());
            }
        }
        return result;
    }

    /** Runs the task on the link's timer after the delay; nothing once the link is closed. */
    void later(Duration delay, Runnable task)
    {
        try
        {
            timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (RejectedExecutionException e)
        {
            // closed
        }
    }

    /** Checks Redis once, bounded by {@code within}; a replica that cannot reach it starts degraded. */
    void checkAtStart(Duration within)
    {
        CompletionStage<Boolean> pinged = call(UnifiedJedis::ping, pong -> true, () -> false);
        try
        {
            if (pinged.toCompletableFuture().get(within.toMillis() + settings.timeout().toMillis(), TimeUnit.MILLISECONDS))
                LOG.info("cerebras-proxy shares client counts and what its key pool learns with its other replicas through Redis at {} (keys under \"{}\")", settings.address(), settings.prefix());
        }
        catch (Exception e)
        {
            failed(brief(e));
        }
    }

    private void failed(String why)
    {
        if (!degraded.compareAndSet(false, true))
            return;
        long now = System.nanoTime();
        if (now - lastWarnNanos >= WARN_EVERY_NANOS)
        {
            lastWarnNanos = now;
            LOG.warn("Redis at {} failed ({}): this replica counts from its own memory, and rejoins by itself once Redis answers again (redis: degraded)", settings.address(), why);
        }
        backoff = FIRST_BACKOFF;
        schedulePing();
    }

    private void schedulePing()
    {
        try
        {
            timer.schedule(() -> calls.execute(this::ping), backoff.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (RejectedExecutionException e)
        {
            // closed: no more pings
        }
    }

    private void ping()
    {
        try
        {
            // Connections pooled before Redis went away are dead: the first calls after the
            // rejoin would meet them and fail again. Drop the idle ones, then check afresh.
            jedis.getPool().clear();
            jedis.ping();
            degraded.set(false);
            LOG.info("Redis at {} answers again: this replica shares its client counts again (redis: ok)", settings.address());
        }
        catch (RuntimeException e)
        {
            Duration doubled = backoff.multipliedBy(2);
            backoff = doubled.compareTo(LONGEST_BACKOFF) > 0 ? LONGEST_BACKOFF : doubled;
            schedulePing();
        }
    }

    /** One short line; a Redis error never holds the password, but it may hold a long stack of causes. */
    private static String brief(Throwable failure)
    {
        Throwable cause = failure instanceof java.util.concurrent.ExecutionException && failure.getCause() != null ? failure.getCause() : failure;
        String message = String.valueOf(cause.getMessage());
        return cause.getClass().getSimpleName() + ": " + (message.length() > 120 ? message.substring(0, 120) + "..." : message);
    }

    @Override
    public void close()
    {
        timer.shutdownNow();
        calls.shutdownNow();
        news.shutdownNow();
        jedis.close();
        try
        {
            // Gone before the container looks for threads a stopped webapp left behind (Tomcat warns of them).
            calls.awaitTermination(1, TimeUnit.SECONDS);
            news.awaitTermination(1, TimeUnit.SECONDS);
            timer.awaitTermination(1, TimeUnit.SECONDS);
        }
        catch (InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
