package dev.cerebrasproxy.config;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.KeySnapshot;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.DELTA;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CEREBRAS_API_KEYS_FILE: the running webapp follows the file, keeps what it learnt, and refuses a bad file. */
class KeysFileReloadTest
{
    /** Polled often so a test sees a change quickly; the bounds below are generous for a loaded machine. */
    static final String POLL_MS = "20";
    static final Duration SEEN_WITHIN = Duration.ofSeconds(10);

    /**
     * A proxy per test, its keys from a file that starts with alpha and bravo, on a manual
     * clock so that a key's rest lasts until the test says (the watcher keeps real time).
     */
    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().keysFile("{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\"}").manualClock()
        .settings(ProxySettings.KEYS_FILE_POLL_MS, POLL_MS, ProxySettings.WAIT_FOR_KEY_MS, "0");

    private List<String> names()
    {
        return proxy.pool().keys().stream().map(ApiKey::name).toList();
    }

    private void awaitKeys(List<String> expected)
    {
        Poll.untilTrue(SEEN_WITHIN, "the pool to hold " + expected, () -> names().equals(expected));
    }

    private HttpResponse<String> chat() throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT);
    }

    @Test
    void theFileWinsOverTheVariable() throws Exception
    {
        // The proxy also has CEREBRAS_API_KEYS, set to alpha, bravo and charlie.
        assertEquals(List.of("alpha", "bravo"), names());
    }

    @Test
    void addedKeysJoinAndRemovedKeysLeaveRotation() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.writeKeysFile("{\"bravo\":\"" + BRAVO + "\",\"delta\":\"" + DELTA + "\"}");
        awaitKeys(List.of("bravo", "delta"));

        proxy.upstream().forgetReceived();
        for (int i = 0; i < 4; i++)
            assertEquals(200, chat().statusCode());
        Set<String> used = proxy.upstream().received().stream().map(FakeCerebras.Received::key).collect(Collectors.toSet());
        assertEquals(Set.of(BRAVO, DELTA), used);
        Poll.untilTrue(SEEN_WITHIN, "the reload's log line", () -> LogCapture.since(mark).contains("kept bravo; added delta; removed alpha"));
    }

    @Test
    void aCoolingKeyStaysCoolingAcrossAReload() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "60"));
        for (int i = 0; i < 2; i++)
            assertEquals(200, chat().statusCode());
        KeySnapshot cooling = proxy.pool().snapshot().get(0);
        assertEquals(KeyState.COOLING, cooling.state());

        proxy.writeKeysFile("{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\",\"delta\":\"" + DELTA + "\"}");
        awaitKeys(List.of("alpha", "bravo", "delta"));

        assertEquals(cooling, proxy.pool().snapshot().get(0), "alpha keeps its rest, its until and its counts");
        proxy.upstream().forgetReceived();
        for (int i = 0; i < 4; i++)
            assertEquals(200, chat().statusCode());
        assertEquals(0, proxy.upstream().countFor(ALPHA), "the cooling key is not called");
    }

    @Test
    void anInvalidFileIsRejectedWithOneLineAndTheOldKeysServe() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.writeKeysFile("{\"alpha\":\"" + ALPHA + "\",\"bravo\":"); // cut short: invalid JSON
        Poll.untilTrue(SEEN_WITHIN, "the rejection's log line", () -> LogCapture.since(mark).contains("keys file rejected"));
        assertEquals(200, chat().statusCode());
        assertEquals(List.of("alpha", "bravo"), names());

        // A later good version proves the watcher checked many times meanwhile.
        proxy.writeKeysFile("{\"alpha\":\"" + ALPHA + "\"}");
        awaitKeys(List.of("alpha"));

        String log = LogCapture.since(mark);
        List<String> rejections = log.lines().filter(line -> line.contains("keys file rejected")).toList();
        assertEquals(1, rejections.size(), log);
        String line = rejections.get(0);
        assertTrue(line.contains(ProxySettings.API_KEYS_FILE) && line.contains("is not valid JSON") && line.contains("Set it to a JSON object"), line);
        assertTrue(line.contains("keeps serving its 2 keys ([alpha, bravo])"), line);
        assertFalse(log.contains("-SECRET-"), "no key value in the log");
    }

    @Test
    void requestsDuringReloadsAllSucceed() throws Exception
    {
        String one = "{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\"}";
        String other = "{\"bravo\":\"" + BRAVO + "\",\"delta\":\"" + DELTA + "\"}";
        ExecutorService clients = Executors.newFixedThreadPool(6);
        try
        {
            AtomicBoolean reloading = new AtomicBoolean(true);
            List<Integer> statuses = new CopyOnWriteArrayList<>();
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < 6; c++)
                running.add(clients.submit(() ->
                {
                    while (reloading.get())
                        statuses.add(chat().statusCode());
                    return null;
                }));
            for (int i = 0; i < 10; i++)
            {
                boolean even = i % 2 == 0;
                proxy.writeKeysFile(even ? other : one);
                awaitKeys(even ? List.of("bravo", "delta") : List.of("alpha", "bravo"));
            }
            reloading.set(false);
            for (Future<?> client : running)
                client.get(30, TimeUnit.SECONDS);
            assertFalse(statuses.isEmpty());
            assertTrue(statuses.stream().allMatch(status -> status == 200), "statuses: " + statuses);
        }
        finally
        {
            clients.shutdownNow();
        }
    }

    @Test
    void theWatcherStopsWithTheWebapp() throws Exception
    {
        assertTrue(watcherThreads() > 0, "the watcher runs while the webapp does");
        proxy.proxy().close();
        Poll.untilTrue(SEEN_WITHIN, "the keys file thread to end", () -> watcherThreads() == 0);
    }

    private static long watcherThreads()
    {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(KeysFileWatcher.THREAD_NAME) && t.isAlive()).count();
    }
}
