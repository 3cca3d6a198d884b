package dev.cerebrasproxy.access;

import java.io.IOException;

import dev.cerebrasproxy.ProxyError;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Who may read the operations endpoints that show more than liveness (metrics, the
 * status page): anyone when {@code PROXY_ADMIN_TOKEN} is unset, else whoever presents
 * it. Prometheus sends it as {@code Authorization: Bearer <token>}; a browser may bring it
 * as {@code ?token=} or the cookie {@value #COOKIE}. Every refusal is the same 401.
 */
public final class AdminAccess
{
    public static final String QUERY_PARAMETER = "token";
    public static final String COOKIE = "proxy_admin_token";

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

    public boolean allows(HttpServletRequest request)
    {
        if (!token.required())
            return true;
        // Check every place, not the first one found, so a wrong header does not hide a right cookie.
        boolean allowed = token.matches(TokenDigest.bearerOf(request.getHeader("Authorization")));
        allowed |= token.matches(request.getParameter(QUERY_PARAMETER));
        Cookie[] cookies = request.getCookies();
        if (cookies != null)
        {
            for (Cookie cookie : cookies)
            {
                if (COOKIE.equals(cookie.getName()))
                    allowed |= token.matches(cookie.getValue());
            }
        }
        return allowed;
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
