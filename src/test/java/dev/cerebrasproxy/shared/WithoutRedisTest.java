package dev.cerebrasproxy.shared;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Without PROXY_REDIS_URL the proxy needs no class of the Redis client: proved on a class
 * path that lacks Jedis and its pool altogether, where the in-memory state still counts.
 */
class WithoutRedisTest
{
    @Test
    void aSingleReplicaRunsWithoutTheRedisClientOnItsClassPath() throws Exception
    {
        List<URL> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator))
        {
            if (!entry.contains("jedis") && !entry.contains("commons-pool2"))
                urls.add(Path.of(entry).toUri().toURL());
        }
        try (URLClassLoader withoutJedis = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader()))
        {
            assertThrows(ClassNotFoundException.class, () -> withoutJedis.loadClass("redis.clients.jedis.RedisClient"), "the class path really lacks Jedis");
            Class<?> sharedState = withoutJedis.loadClass(SharedState.class.getName());
            Object alone = sharedState.getMethod("of", withoutJedis.loadClass("dev.cerebrasproxy.config.RedisSettings")).invoke(null, new Object[] {null});
            assertEquals("OFF", sharedState.getMethod("redis").invoke(alone).toString());
            Object counters = sharedState.getMethod("clientCounters").invoke(alone);
            Class<?> limits = withoutJedis.loadClass("dev.cerebrasproxy.access.ClientLimits");
            Object oneRequest = limits.getConstructor(long.class, long.class, long.class, java.util.Set.class).newInstance(1L, -1L, -1L, null);
            Object outcome = ((CompletionStage<?>)counters.getClass().getMethod("tryAdmit", String.class, limits, long.class, long.class, long.class)
                .invoke(counters, "ci", oneRequest, 0L, 1L, 1L)).toCompletableFuture().join();
            assertEquals("null", String.valueOf(outcome.getClass().getMethod("over").invoke(outcome)), "counted in memory");
        }
    }
}
