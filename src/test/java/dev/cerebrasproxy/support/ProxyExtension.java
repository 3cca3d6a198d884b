package dev.cerebrasproxy.support;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.forward.CerebrasProxyServlet;
import dev.cerebrasproxy.pool.KeyPool;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static dev.cerebrasproxy.support.TestData.KEYS;

/**
 * A fake Cerebras upstream ({@link FakeCerebras}) and the proxy webapp in front of it
 * ({@link ProxyUnderTest}), the way OkHttp's MockWebServer extension gives a test its
 * server. Registered on a static field, it starts both once for the test class; on an
 * instance field, once for each test. Before each test it resets both: the fake forgets
 * its scripts and what it received, every key of the pool is fresh, and a manual clock
 * is back at its start with nothing scheduled.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.MAX_BODY_BYTES, "1000");
 * </pre>
 *
 * The proxy has the keys of {@link TestData#KEYS} unless the settings say otherwise. The
 * webapp's ledger and metrics are not reset: a test that reads them wants a proxy of its
 * own (an instance field).
 */
public final class ProxyExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback
{
    private final List<String> settings = new ArrayList<>();
    private boolean manualClock;
    private boolean overTls;
    private UpstreamTransport transport = UpstreamTransport.HTTP_1_1;
    private boolean withProxy = true;
    private String keysFileJson;
    private Class<? extends CerebrasProxyServlet> servlet;
    private String tokensFileJson;

    private boolean perClass;
    private Path directory;
    private SelfSignedCertificate certificate;
    private Path keysFile;
    private Path tokensFile;
    private FakeCerebras upstream;
    private ProxyUnderTest proxy;

    /** Settings on top of the test keys and the fake's URL, as name, value, name, value. */
    public ProxyExtension settings(String... pairs)
    {
        settings.addAll(List.of(pairs));
        return this;
    }

    /** The pool tells time by a {@link ManualClock} that only the test moves ({@link #clock()}). */
    public ProxyExtension manualClock()
    {
        manualClock = true;
        return this;
    }

    /** The fake speaks HTTPS with a certificate made for the run, and the proxy trusts it through its own trust store setting. */
    public ProxyExtension overTls()
    {
        overTls = true;
        return this;
    }

    /**
     * The fake speaks this transport, and the proxy is configured to match. In a
     * {@code @ParameterizedClass} over {@link UpstreamTransport}, call it from a
     * {@code @BeforeParameterizedClassInvocation} method: a running fake and proxy are
     * replaced when the transport changes, so each transport starts them once per class.
     */
    public ProxyExtension over(UpstreamTransport transport) throws Exception
    {
        if (transport == this.transport)
            return this;
        this.transport = transport;
        if (upstream != null)
        {
            stop();
            start();
        }
        return this;
    }

    public UpstreamTransport transport()
    {
        return transport;
    }

    /** The keys come from CEREBRAS_API_KEYS_FILE, a file holding this JSON at first; {@link #writeKeysFile} changes it. */
    public ProxyExtension keysFile(String json)
    {
        keysFileJson = json;
        return this;
    }

    /** Deploys this subclass of the proxy servlet in the shipped one's place, e.g. to inject a fault. */
    public ProxyExtension servlet(Class<? extends CerebrasProxyServlet> type)
    {
        servlet = type;
        return this;
    }

    /** The client tokens come from PROXY_CLIENT_TOKENS_FILE, a file holding this JSON at first; {@link #writeTokensFile} changes it. */
    public ProxyExtension tokensFile(String json)
    {
        tokensFileJson = json;
        return this;
    }

    /** Only the fake: for a proxy the test runs elsewhere (a container process). */
    public ProxyExtension upstreamOnly()
    {
        withProxy = false;
        return this;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception
    {
        perClass = true;
        start();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception
    {
        if (upstream == null)
        {
            start();
            return;
        }
        upstream.reset();
        if (proxy != null)
        {
            proxy.pool().reset();
            if (manualClock)
                proxy.clock().reset();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception
    {
        if (!perClass)
            stop();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception
    {
        stop();
    }

    private void start() throws Exception
    {
        List<String> all = new ArrayList<>();
        if (overTls || keysFileJson != null || tokensFileJson != null)
            directory = Files.createTempDirectory("proxy-extension-");
        if (overTls)
        {
            certificate = SelfSignedCertificate.createIn(directory);
            upstream = FakeCerebras.overTls(certificate);
            all.addAll(List.of(ProxySettings.TRUST_STORE, certificate.trustStore().toString(),
                ProxySettings.TRUST_STORE_PASSWORD, SelfSignedCertificate.PASSWORD));
        }
        else
        {
            upstream = FakeCerebras.over(transport);
        }
        if (keysFileJson != null)
        {
            keysFile = directory.resolve("keys.json");
            writeKeysFile(keysFileJson);
            all.addAll(List.of(ProxySettings.API_KEYS_FILE, keysFile.toString()));
        }
        if (tokensFileJson != null)
        {
            tokensFile = directory.resolve("tokens.json");
            writeTokensFile(tokensFileJson);
            all.addAll(List.of(ProxySettings.CLIENT_TOKENS_FILE, tokensFile.toString()));
        }
        all.addAll(settings);
        if (withProxy)
        {
            String[] pairs = all.toArray(String[]::new);
            proxy = ProxyUnderTest.start(upstream, manualClock ? new ManualClock() : null, servlet, pairs);
        }
    }

    private void stop() throws Exception
    {
        try (AutoCloseable closeUpstream = upstream; AutoCloseable closeProxy = proxy)
        {
            proxy = null;
            upstream = null;
        }
        finally
        {
            if (directory != null)
                delete(directory);
            directory = null;
        }
    }

    private static void delete(Path directory) throws IOException
    {
        try (Stream<Path> paths = Files.walk(directory))
        {
            for (Path path : (Iterable<Path>)paths.sorted(Comparator.reverseOrder())::iterator)
                Files.deleteIfExists(path);
        }
    }

    public FakeCerebras upstream()
    {
        return upstream;
    }

    public ProxyUnderTest proxy()
    {
        if (proxy == null)
            throw new IllegalStateException(withProxy ? "the proxy runs only while a test does" : "this extension runs the fake upstream only");
        return proxy;
    }

    /** The proxy's URI for this path and query. */
    public URI uri(String pathAndQuery)
    {
        return proxy().uri(pathAndQuery);
    }

    public int port()
    {
        return proxy().port();
    }

    /** What the running webapp shares between its servlets: its pool, ledger, metrics. */
    public ProxyContext context()
    {
        return proxy().context();
    }

    public KeyPool pool()
    {
        return proxy().pool();
    }

    /** The pool's clock, with {@link #manualClock()}. */
    public ManualClock clock()
    {
        return proxy().clock();
    }

    /** The certificate the fake speaks TLS with, with {@link #overTls()}. */
    public SelfSignedCertificate certificate()
    {
        return certificate;
    }

    /**
     * Replaces the keys file's content, as an operator should: written beside, then renamed
     * over, so no check of the proxy reads half a file.
     */
    public void writeKeysFile(String json) throws IOException
    {
        replace(keysFile, json);
    }

    /** Replaces the client tokens file's content, like {@link #writeKeysFile}. */
    public void writeTokensFile(String json) throws IOException
    {
        replace(tokensFile, json);
    }

    private static void replace(Path file, String json) throws IOException
    {
        Path next = file.resolveSibling(file.getFileName() + ".next");
        Files.writeString(next, json, StandardCharsets.UTF_8);
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
