package dev.cerebrasproxy;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CEREBRAS_API_KEYS_FILE: the running webapp follows the file, keeps what it learnt, and refuses a bad file. */
class KeysFileReloadTest
{
    static final String ALPHA = "sk-alpha-SECRET-0001";
    static final String BRAVO = "sk-bravo-SECRET-0002";
    static final String DELTA = "sk-delta-SECRET-0004";
    /** Polled often so a test sees a change quickly; the bounds below are generous for a loaded machine. */
    static final String POLL_MS = "20";
    static final Duration SEEN_WITHIN = Duration.ofSeconds(10);

    @TempDir
    Path directory;
    private Path keysFile;
    private FakeCerebras upstream;

    @BeforeEach
    void startUpstream() throws Exception
    {
        upstream = new FakeCerebras();
        keysFile = directory.resolve("keys.json");
        write("{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\"}");
    }

    @AfterEach
    void stopUpstream() throws Exception
    {
        upstream.close();
    }

    /** As an operator should: write beside, then rename over, so no check reads half a file. */
    private void write(String json) throws Exception
    {
        Path next = directory.resolve("keys.json.next");
        Files.writeString(next, json, StandardCharsets.UTF_8);
        Files.move(next, keysFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private ProxyUnderTest start() throws Exception
    {
        return ProxyUnderTest.start(upstream, ProxySettings.API_KEYS_FILE, keysFile.toString(), ProxySettings.KEYS_FILE_POLL_MS, POLL_MS);
    }

    private static List<String> names(ProxyUnderTest proxy)
    {
        return proxy.pool().keys().stream().map(ApiKey::name).toList();
    }

    private static void awaitKeys(ProxyUnderTest proxy, List<String> expected)
    {
        Poll.untilTrue(SEEN_WITHIN, "the pool to hold " + expected, () -> names(proxy).equals(expected));
    }

    private static HttpResponse<String> chat(ProxyUnderTest proxy) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
    }

    @Test
    void theFileWinsOverTheVariable() throws Exception
    {
        try (ProxyUnderTest proxy = start())
        {
            // ProxyUnderTest also sets CEREBRAS_API_KEYS to alpha, bravo and charlie.
            assertEquals(List.of("alpha", "bravo"), names(proxy));
        }
    }

    @Test
    void addedKeysJoinAndRemovedKeysLeaveRotation() throws Exception
    {
        try (ProxyUnderTest proxy = start())
        {
            int mark = LogCapture.mark();
            write("{\"bravo\":\"" + BRAVO + "\",\"delta\":\"" + DELTA + "\"}");
            awaitKeys(proxy, List.of("bravo", "delta"));

            upstream.forgetReceived();
            for (int i = 0; i < 4; i++)
                assertEquals(200, chat(proxy).statusCode());
            Set<String> used = upstream.received().stream().map(FakeCerebras.Received::key).collect(Collectors.toSet());
            assertEquals(Set.of(BRAVO, DELTA), used);
            Poll.untilTrue(SEEN_WITHIN, "the reload's log line", () -> LogCapture.since(mark).contains("kept bravo; added delta; removed alpha"));
        }
    }

    @Test
    void aCoolingKeyStaysCoolingAcrossAReload() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(429, "{\"message\":\"Requests per minute limit exceeded\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"request_quota_exceeded\"}", "retry-after", "60"));
        try (ProxyUnderTest proxy = ProxyUnderTest.startOnManualClock(upstream, ProxySettings.API_KEYS_FILE, keysFile.toString(),
            ProxySettings.KEYS_FILE_POLL_MS, POLL_MS, ProxySettings.WAIT_FOR_KEY_MS, "0"))
        {
            for (int i = 0; i < 2; i++)
                assertEquals(200, chat(proxy).statusCode());
            KeySnapshot cooling = proxy.pool().snapshot().get(0);
            assertEquals(KeyState.COOLING, cooling.state());

            write("{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\",\"delta\":\"" + DELTA + "\"}");
            awaitKeys(proxy, List.of("alpha", "bravo", "delta"));

            assertEquals(cooling, proxy.pool().snapshot().get(0), "alpha keeps its rest, its until and its counts");
            upstream.forgetReceived();
            for (int i = 0; i < 4; i++)
                assertEquals(200, chat(proxy).statusCode());
            assertEquals(0, upstream.countFor(ALPHA), "the cooling key is not called");
        }
    }

    @Test
    void anInvalidFileIsRejectedWithOneLineAndTheOldKeysServe() throws Exception
    {
        try (ProxyUnderTest proxy = start())
        {
            int mark = LogCapture.mark();
            write("{\"alpha\":\"" + ALPHA + "\",\"bravo\":"); // cut short: invalid JSON
            Poll.untilTrue(SEEN_WITHIN, "the rejection's log line", () -> LogCapture.since(mark).contains("keys file rejected"));
            assertEquals(200, chat(proxy).statusCode());
            assertEquals(List.of("alpha", "bravo"), names(proxy));

            // A later good version proves the watcher checked many times meanwhile.
            write("{\"alpha\":\"" + ALPHA + "\"}");
            awaitKeys(proxy, List.of("alpha"));

            String log = LogCapture.since(mark);
            List<String> rejections = log.lines().filter(line -> line.contains("keys file rejected")).toList();
            assertEquals(1, rejections.size(), log);
            String line = rejections.get(0);
            assertTrue(line.contains(ProxySettings.API_KEYS_FILE) && line.contains("is not valid JSON") && line.contains("Set it to a JSON object"), line);
            assertTrue(line.contains("keeps serving its 2 keys ([alpha, bravo])"), line);
            assertFalse(log.contains("-SECRET-"), "no key value in the log");
        }
    }

    @Test
    void requestsDuringReloadsAllSucceed() throws Exception
    {
        String one = "{\"alpha\":\"" + ALPHA + "\",\"bravo\":\"" + BRAVO + "\"}";
        String other = "{\"bravo\":\"" + BRAVO + "\",\"delta\":\"" + DELTA + "\"}";
        ExecutorService clients = Executors.newFixedThreadPool(6);
        try (ProxyUnderTest proxy = start())
        {
            AtomicBoolean reloading = new AtomicBoolean(true);
            List<Integer> statuses = new CopyOnWriteArrayList<>();
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < 6; c++)
                running.add(clients.submit(() ->
                {
                    while (reloading.get())
                        statuses.add(chat(proxy).statusCode());
                    return null;
                }));
            for (int i = 0; i < 10; i++)
            {
                boolean even = i % 2 == 0;
                write(even ? other : one);
                awaitKeys(proxy, even ? List.of("bravo", "delta") : List.of("alpha", "bravo"));
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
        ProxyUnderTest proxy = start();
        assertTrue(watcherThreads() > 0, "the watcher runs while the webapp does");
        proxy.close();
        Poll.untilTrue(SEEN_WITHIN, "the keys file thread to end", () -> watcherThreads() == 0);
    }

    private static long watcherThreads()
    {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(KeysFileWatcher.THREAD_NAME) && t.isAlive()).count();
    }
}
