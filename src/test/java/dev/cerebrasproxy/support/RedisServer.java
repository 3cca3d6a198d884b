package dev.cerebrasproxy.support;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import redis.clients.jedis.RedisClient;

/**
 * A real {@code redis-server} (Debian's, {@code /usr/bin/redis-server}; {@code .ci/run}
 * installs it) on a free loopback port, for the test class, nothing saved to disk. A test
 * may {@link #kill} it as a crash would and {@link #restart} it on the same port, empty,
 * as a Redis without persistence comes back.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final RedisServer redis = new RedisServer();
 * </pre>
 */
public final class RedisServer implements BeforeAllCallback, AfterAllCallback
{
    private static final String BINARY = "/usr/bin/redis-server";
    private static final Duration START_BOUND = Duration.ofSeconds(20);
    /** The README's {@code ACL SETUSER} line for an ACL user, made on each start (not over TLS). */
    private static final String ACL_LINE = "ACL SETUSER cerebras-proxy ";
    private static final String USER = "cerebras-proxy";
    private static final String PASSWORD = "redis-pw-SECRET-7777";

    private int port;
    private Process process;
    private Path log;
    /** With TLS only (rediss://): its certificate for 127.0.0.1, key and a PKCS12 trust store holding it. */
    private final boolean tls;
    private Path certificates;

    public RedisServer()
    {
        this(false);
    }

    private RedisServer(boolean tls)
    {
        this.tls = tls;
    }

    /** A server that speaks TLS only, with a self-signed certificate for 127.0.0.1 ({@link #trustStore()}). */
    public static RedisServer overTls()
    {
        return new RedisServer(true);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception
    {
        if (!new File(BINARY).canExecute())
            throw new IllegalStateException(BINARY + " is missing: apt-get install redis-server (.ci/run does)");
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            port = socket.getLocalPort();
        }
        Path target = Path.of("target");
        Files.createDirectories(target);
        log = target.resolve("redis-" + port + ".log");
        if (tls)
            makeCertificate();
        restart();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception
    {
        kill();
    }

    /** Starts the server (again) on its port, empty, and returns once it answers. */
    public void restart() throws IOException
    {
        if (process != null && process.isAlive())
            throw new IllegalStateException("redis-server runs already");
        List<String> command = new java.util.ArrayList<>(List.of(BINARY, "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"));
        if (!tls)
            command.addAll(theReadmesUser());
        if (tls)
            command.addAll(List.of("--port", "0", "--tls-port", Integer.toString(port), "--tls-cert-file", certificates.resolve("cert.pem").toString(),
                "--tls-key-file", certificates.resolve("key.pem").toString(), "--tls-ca-cert-file", certificates.resolve("cert.pem").toString(), "--tls-auth-clients", "no"));
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Poll.untilTrue(START_BOUND, "redis-server to answer on port " + port, () ->
        {
            if (!process.isAlive())
                throw new AssertionError("redis-server stopped; see " + log);
            if (tls)
                return accepts();
            try (RedisClient client = RedisClient.create("127.0.0.1", port))
            {
                return "PONG".equals(client.ping());
            }
            catch (RuntimeException e)
            {
                return false;
            }
        });
    }

    /**
     * The user the README tells operators to make, from its very line, so that a command the
     * proxy starts to send without the README saying so shows in {@link #denied()}. On the
     * command line ({@code --user}), so that it exists before a replica reconnects.
     */
    private static List<String> theReadmesUser() throws IOException
    {
        String readme = Files.readString(Path.of("README.md"));
        String line = readme.lines().filter(l -> l.startsWith(ACL_LINE)).findFirst()
            .orElseThrow(() -> new AssertionError("README.md has no line starting '" + ACL_LINE + "'"));
        List<String> words = List.of(line.replace("PASSWORD", PASSWORD).split(" +"));
        java.util.Set<String> granted = new TreeSet<>();
        words.stream().filter(w -> w.startsWith("+")).forEach(w -> granted.add(w.substring(1).toUpperCase(java.util.Locale.ROOT)));
        String paragraph = readme.substring(readme.indexOf("With an ACL user"), readme.indexOf(ACL_LINE));
        java.util.Set<String> listed = new TreeSet<>();
        java.util.regex.Matcher command = java.util.regex.Pattern.compile("`([A-Z|]+)`").matcher(paragraph);
        while (command.find())
            listed.add(command.group(1));
        if (!listed.equals(granted))
            throw new AssertionError("README.md's ACL paragraph lists " + listed + " but its ACL SETUSER line grants " + granted);
        List<String> user = new java.util.ArrayList<>(List.of("--user"));
        user.addAll(words.subList(2, words.size()));
        return user;
    }

    /** PROXY_REDIS_URL for the README's ACL user: what the replicas of {@link Replicas} connect as. */
    public String restrictedUrl()
    {
        if (tls)
            throw new IllegalStateException("the README's user is made on plain servers only");
        return "redis://" + USER + ":" + PASSWORD + "@127.0.0.1:" + port;
    }

    /** Drops every key and the ACL LOG: a Redis as the next test should find it. */
    public void empty()
    {
        try (RedisClient client = client())
        {
            client.flushAll();
            client.sendCommand(redis.clients.jedis.Protocol.Command.ACL, "LOG", "RESET");
        }
    }

    /** What Redis refused since it started, from its ACL LOG: reason, object and user of each entry. */
    public List<String> denied()
    {
        try (RedisClient client = client())
        {
            List<String> entries = new java.util.ArrayList<>();
            for (Object entry : (List<?>)client.sendCommand(redis.clients.jedis.Protocol.Command.ACL, "LOG"))
            {
                // RESP2 pairs in a flat list, or (as this Jedis gives them) a list of entries.
                Map<String, String> fields = new LinkedHashMap<>();
                List<?> items = (List<?>)entry;
                for (int i = 0; i < items.size(); i++)
                {
                    if (items.get(i) instanceof Map.Entry<?, ?> field)
                        fields.put(text(field.getKey()), text(field.getValue()));
                    else if (i + 1 < items.size())
                        fields.put(text(items.get(i)), text(items.get(++i)));
                }
                entries.add(fields.get("reason") + " " + fields.get("object") + " by " + fields.get("username") + " in " + fields.get("context"));
            }
            return entries;
        }
    }

    private static String text(Object value)
    {
        return value instanceof byte[] bytes ? new String(bytes, java.nio.charset.StandardCharsets.UTF_8) : String.valueOf(value);
    }

    private boolean accepts()
    {
        try (java.net.Socket socket = new java.net.Socket(InetAddress.getLoopbackAddress(), port))
        {
            return true;
        }
        catch (IOException e)
        {
            return false;
        }
    }

    private void makeCertificate() throws IOException, InterruptedException
    {
        certificates = Files.createTempDirectory("redis-tls-");
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", certificates.resolve("key.pem").toString(), "-out", certificates.resolve("cert.pem").toString());
        run(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-importcert", "-noprompt", "-alias", "redis", "-file", certificates.resolve("cert.pem").toString(),
            "-keystore", trustStore().toString(), "-storetype", "PKCS12", "-storepass", SelfSignedCertificate.PASSWORD);
    }

    private static void run(String... command) throws IOException, InterruptedException
    {
        Process made = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(made.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (made.waitFor() != 0)
            throw new IOException(command[0] + " failed: " + output);
    }

    /** For {@link #overTls()}: a PKCS12 store (password {@link SelfSignedCertificate#PASSWORD}) that trusts this server's certificate. */
    public Path trustStore()
    {
        return certificates.resolve("trust.p12");
    }

    /** Ends the server at once (SIGKILL), as a crash or a lost node would. */
    public void kill() throws InterruptedException
    {
        if (process == null)
            return;
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS))
            throw new AssertionError("redis-server did not stop");
    }

    public int port()
    {
        return port;
    }

    /** PROXY_REDIS_URL for this server. */
    public String url()
    {
        return (tls ? "rediss" : "redis") + "://127.0.0.1:" + port;
    }

    /** A client of the test's own, to look at what the proxy wrote. */
    public RedisClient client()
    {
        return RedisClient.create("127.0.0.1", port);
    }

    /** Every key and its whole value (a hash's fields and values), sorted by key: what a look at Redis would show. */
    public Map<String, String> everything()
    {
        Map<String, String> all = new LinkedHashMap<>();
        try (RedisClient client = client())
        {
            for (String key : new TreeSet<>(client.keys("*")))
            {
                String type = client.type(key);
                all.put(key, switch (type)
                {
                    case "string" -> client.get(key);
                    case "hash" -> client.hgetAll(key).toString();
                    case "list" -> String.join(",", client.lrange(key, 0, -1));
                    case "set" -> String.join(",", client.smembers(key));
                    case "zset" -> String.join(",", client.zrange(key, 0, -1));
                    default -> type;
                });
            }
        }
        return all;
    }

    /** Makes Redis hold every client's commands for this long (CLIENT PAUSE): a Redis that is up but slow. */
    public void pause(Duration duration)
    {
        try (RedisClient client = client())
        {
            client.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "PAUSE", Long.toString(duration.toMillis()), "ALL");
        }
    }

    public List<String> keys()
    {
        return List.copyOf(everything().keySet());
    }
}
