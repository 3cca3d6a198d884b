package dev.cerebrasproxy.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate for 127.0.0.1 and localhost, made on the spot with the JDK's keytool so
 * no key material lives in the repository: a PKCS12 key store for the fake upstream
 * and a trust store holding only its certificate, for the proxy.
 */
public final class SelfSignedCertificate
{
    public static final String PASSWORD = "test-store-pass";

    private final Path keyStore;
    private final Path trustStore;

    private SelfSignedCertificate(Path keyStore, Path trustStore)
    {
        this.keyStore = keyStore;
        this.trustStore = trustStore;
    }

    private static SelfSignedCertificate shared;

    /** One certificate for every test of this JVM that needs one but no file of its own (keytool takes a second). */
    public static synchronized SelfSignedCertificate shared() throws Exception
    {
        if (shared == null)
        {
            Path dir = Files.createTempDirectory("shared-certificate-");
            shared = createIn(dir);
            Runtime.getRuntime().addShutdownHook(new Thread(() ->
            {
                for (Path file : List.of(shared.keyStore, shared.trustStore, dir.resolve("upstream.crt"), dir))
                    file.toFile().delete();
            }));
        }
        return shared;
    }

    public static SelfSignedCertificate createIn(Path dir) throws Exception
    {
        Path keyStore = dir.resolve("upstream.p12");
        Path certificate = dir.resolve("upstream.crt");
        Path trustStore = dir.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "upstream", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
            "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
            "-storetype", "PKCS12", "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
        keytool("-exportcert", "-alias", "upstream", "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-file", certificate.toString());
        keytool("-importcert", "-noprompt", "-alias", "upstream", "-file", certificate.toString(),
            "-storetype", "PKCS12", "-keystore", trustStore.toString(), "-storepass", PASSWORD);
        return new SelfSignedCertificate(keyStore, trustStore);
    }

    private static void keytool(String... args) throws IOException, InterruptedException
    {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0)
            throw new IOException("keytool " + args[0] + " failed: " + output);
    }

    public Path keyStore()
    {
        return keyStore;
    }

    public Path trustStore()
    {
        return trustStore;
    }
}
