package dev.cerebrasproxy.containers;

import java.nio.file.Files;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No Docker engine runs in CI, so the image itself is never built here. What can be
 * checked is that the Dockerfile installs what {@link JettyDistributionIT} runs: the
 * same Jetty line, the repository's jetty-base/ as the whole base, the built WAR as
 * webapps/ROOT.war.
 */
class DockerfileIT
{
    /** The official image's JETTY_BASE. */
    private static final String IMAGE_BASE = "/var/lib/jetty/";

    private final List<String> lines;

    DockerfileIT() throws Exception
    {
        lines = Files.readAllLines(BuildLayout.dockerfile());
    }

    @Test
    void theImageRunsTheJettyLineTheTestsRun()
    {
        Matcher from = lines.stream()
            .map(Pattern.compile("^FROM jetty:(\\d+\\.\\d+)[-\\w.]*\\s*$")::matcher)
            .filter(Matcher::matches)
            .findFirst()
            .orElseThrow(() -> new AssertionError("no FROM jetty:<major>.<minor>... in the Dockerfile"));
        String line = from.group(1);
        assertTrue(BuildLayout.jettyVersion().startsWith(line + "."),
            "the image runs Jetty " + line + ".x but the tests run " + BuildLayout.jettyVersion());
    }

    @Test
    void theImageBaseIsOnlyTheRepositorysJettyBase()
    {
        assertTrue(has("RUN rm -rf " + IMAGE_BASE + "start.d " + IMAGE_BASE + "start.ini " + IMAGE_BASE + "webapps"),
            "the image's own modules and webapps are removed first");
        assertTrue(has("COPY --chown=jetty:jetty jetty-base/ " + IMAGE_BASE), "jetty-base/ becomes the image's base");
    }

    @Test
    void theWarIsDeployedWhereTheJettyTestPutsIt()
    {
        String war = "target/" + BuildLayout.war().getFileName();
        assertTrue(has("COPY --chown=jetty:jetty --from=build /src/" + war + " " + IMAGE_BASE + JettyDistribution.WAR_IN_BASE),
            "the built " + war + " goes in as " + JettyDistribution.WAR_IN_BASE);
    }

    /** The image listens on all interfaces; the webapp is told, so an open pool warns of it. */
    @Test
    void theImageSaysItListensPublicly()
    {
        assertTrue(has("ENV PROXY_PUBLIC=true"), "the Dockerfile sets PROXY_PUBLIC=true");
    }

    private boolean has(String line)
    {
        return lines.stream().anyMatch(l -> l.strip().equals(line));
    }
}
