package dev.cerebrasproxy.ops;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

import dev.cerebrasproxy.access.AdminAccess;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import static dev.cerebrasproxy.support.TestData.ADMIN_TOKEN;
import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The status page as a person sees it: headless Chromium opens it with the admin token in
 * the address from a running proxy with a cooling and a quarantined key; the token leaves
 * the address bar for a cookie, and the page follows new traffic by itself. It fails,
 * rather than skips, without Chromium: .ci/run installs it.
 */
class StatusPageBrowserTest
{
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** A few refreshes of the page; only reached when something is wrong. */
    static final Duration SEEN_WITHIN = Duration.ofSeconds(20);

    /** The proxy's time stands still, so the page's "in 1 min" is exact whenever it is read. */
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock()
        .settings(ProxySettings.WAIT_FOR_KEY_MS, "0", ProxySettings.ADMIN_TOKEN, ADMIN_TOKEN);

    @TempDir
    static Path profile;
    private static ChromeDriverService service;
    private static WebDriver browser;

    @BeforeAll
    static void startTheBrowser() throws Exception
    {
        assertTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
            "needs " + CHROMIUM + " and " + CHROMEDRIVER + ": apt-get install chromium chromium-driver (.ci/run does)");
        // Both paths given: Selenium Manager then has nothing to look up or download.
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile);
        browser = new ChromeDriver(service, options);
        browser.manage().window().setSize(new Dimension(1000, 520));
    }

    @AfterAll
    static void stopTheBrowser()
    {
        if (browser != null)
            browser.quit();
        if (service != null)
            service.stop();
    }

    /**
     * One cell's text, read inside the page in one step: the page replaces its rows on
     * every refresh, so an element found first and read later may be gone by then.
     */
    private static String cell(String key, String column)
    {
        return (String)((JavascriptExecutor)browser).executeScript("""
            var rows = document.querySelectorAll('#keys tr');
            for (var i = 0; i < rows.length; i++) {
              var name = rows[i].querySelector('td.name');
              if (name && name.textContent === arguments[0]) return rows[i].querySelector('td.' + arguments[1]).textContent;
            }
            return null;
            """, key, column);
    }

    /** Checked for the token first, so a failure never prints it. */
    private static void assertAddressHasNoToken()
    {
        String address = browser.getCurrentUrl();
        assertFalse(address.contains(ADMIN_TOKEN) || address.contains("token="), "the token left the address bar");
        assertEquals(proxy.uri("/_proxy/status").toString(), address);
    }

    @Test
    void anOperatorSeesEachKeyAndThePageFollowsTraffic() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "60"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(401, WRONG_KEY));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode()); // alpha 429, bravo 401, charlie 200

        browser.get(proxy.uri("/_proxy/status?token=" + ADMIN_TOKEN).toString());
        assertEquals("cerebras-proxy status", browser.getTitle());
        assertAddressHasNoToken();
        Cookie cookie = browser.manage().getCookieNamed(AdminAccess.COOKIE);
        assertTrue(cookie.isHttpOnly(), "no script of the page can read the cookie");
        assertEquals("Strict", cookie.getSameSite());
        assertFalse(cookie.getValue().contains(ADMIN_TOKEN), "the cookie is not the token");
        assertEquals(Boolean.TRUE, ((JavascriptExecutor)browser).executeScript("return document.cookie === '';"), "HttpOnly: invisible to the page");
        assertEquals("cooling", cell("alpha", "state"));
        assertEquals("in 1 min", cell("alpha", "recovers"));
        assertEquals("request_quota_exceeded", cell("alpha", "lastError"));
        assertEquals("quarantined", cell("bravo", "state"));
        assertEquals("re-check in 5 min", cell("bravo", "recovers"));
        assertEquals("available", cell("charlie", "state"));
        ((JavascriptExecutor)browser).executeScript("window.loadedOnce = true;");

        // More traffic: charlie is rate limited too. The page must show it without being reloaded.
        proxy.upstream().answer(CHARLIE, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        assertEquals(503, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        Poll.untilTrue(SEEN_WITHIN, "the page to show charlie cooling", () -> "cooling".equals(cell("charlie", "state")));
        assertEquals("in 30 s", cell("charlie", "recovers"));
        assertEquals(Boolean.TRUE, ((JavascriptExecutor)browser).executeScript("return window.loadedOnce === true;"), "the page was refreshed in place, not reloaded");
        assertAddressHasNoToken();
        assertTrue(browser.findElement(By.id("updated")).getText().startsWith("Updated "), "the page says when it last refreshed");

        String source = browser.getPageSource();
        assertFalse(source.contains("-SECRET-"), "no key value in the page");
        Path screenshot = Path.of("target", "status-page.png");
        File shot = ((org.openqa.selenium.TakesScreenshot)browser).getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), screenshot, StandardCopyOption.REPLACE_EXISTING);
    }
}
