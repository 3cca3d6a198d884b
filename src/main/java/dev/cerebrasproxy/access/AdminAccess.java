package dev.cerebrasproxy.access;

import java.io.IOException;

import dev.cerebrasproxy.ProxyError;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Who may read the operations endpoints that show more than liveness (metrics, the
 * status page): anyone when {@code PROXY_ADMIN_TOKEN} is unset, else whoever presents
 * it. Prometheus sends it as {@code Authorization: Bearer <token>}. A browser opens a page
 * once as {@code ?token=}: that request only {@link #exchange exchanges} the token for the
 * cookie {@value #COOKIE} and is sent to the same address without it, so the token is in
 * no later URL (access logs, history, the page's every refresh). Every refusal is the same 401.
 */
public final class AdminAccess
{
    public static final String QUERY_PARAMETER = "token";
    public static final String COOKIE = "proxy_admin";

    private final AdminToken token;

    public AdminAccess(AdminToken token)
    {
        this.token = token;
    }

    /** Whether an admin token is set at all. */
    public boolean required()
    {
        return token.required();
    }

    /** By the header or the cookie; a token in the query is for {@link #exchange} only. */
    public boolean allows(HttpServletRequest request)
    {
        if (!token.required())
            return true;
        // Check every place, not the first one found, so a wrong header does not hide a right cookie.
        boolean allowed = token.matches(TokenDigest.bearerOf(request.getHeader("Authorization")));
        Cookie[] cookies = request.getCookies();
        if (cookies != null)
        {
            for (Cookie cookie : cookies)
            {
                if (COOKIE.equals(cookie.getName()))
                    allowed |= token.matchesCookie(cookie.getValue());
            }
        }
        return allowed;
    }

    /**
     * When the request carries {@code ?token=}: answers it, and returns true. The right token
     * gets the cookie (HttpOnly, so no script reads it; SameSite=Strict, so no other site's
     * page sends it; Secure over HTTPS) and a 303 to the same address without the token, so
     * the token leaves the address bar. A wrong one gets the 401. Without the parameter,
     * returns false and answers nothing.
     */
    public boolean exchange(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        String query = request.getQueryString();
        if (!token.required() || query == null || request.getParameter(QUERY_PARAMETER) == null)
            return false;
        if (!token.matches(request.getParameter(QUERY_PARAMETER)))
        {
            refuse(response);
            return true;
        }
        StringBuilder location = new StringBuilder(request.getRequestURI());
        String rest = withoutToken(query);
        if (!rest.isEmpty())
            location.append('?').append(rest);
        response.setStatus(303);
        response.setHeader("Location", location.toString());
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("Referrer-Policy", "no-referrer");
        response.addHeader("Set-Cookie", COOKIE + "=" + token.cookieValue() + "; Path=" + request.getContextPath() + "/_proxy/; HttpOnly; SameSite=Strict"
            + (request.isSecure() ? "; Secure" : ""));
        response.setContentLength(0);
        return true;
    }

    /** The raw query without any {@value #QUERY_PARAMETER} parameter, the rest as sent. */
    private static String withoutToken(String query)
    {
        StringBuilder rest = new StringBuilder();
        for (String parameter : query.split("&"))
        {
            String name = parameter.contains("=") ? parameter.substring(0, parameter.indexOf('=')) : parameter;
            if (parameter.isEmpty() || name.equals(QUERY_PARAMETER))
                continue;
            rest.append(rest.length() > 0 ? "&" : "").append(parameter);
        }
        return rest.toString();
    }

    /**
     * The 401 for a request that {@link #allows} refused, the same for every endpoint it
     * guards: Cerebras's error shape, {@code authentication_error} /
     * {@code invalid_admin_token}, {@code WWW-Authenticate: Bearer}, never cached.
     */
    public void refuse(HttpServletResponse response) throws IOException
    {
        new ProxyError(401, "authentication_error", "invalid_admin_token", null,
            "This endpoint needs the proxy's admin token (PROXY_ADMIN_TOKEN): send it as Authorization: Bearer <token>, or open the page as ?token=<token> in a browser.")
            .sendTo(response, "WWW-Authenticate", "Bearer", "Cache-Control", "no-store");
    }
}
