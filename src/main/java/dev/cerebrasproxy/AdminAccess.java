package dev.cerebrasproxy;

import java.io.IOException;

import jakarta.servlet.ServletContext;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Who may read the operations endpoints that show more than liveness (metrics, the
 * status page): anyone when {@code PROXY_ADMIN_TOKEN} is unset, else whoever presents
 * it. Prometheus sends it as {@code Authorization: Bearer <token>}; a browser may bring it
 * as {@code ?token=} or the cookie {@value #COOKIE}. Compared as digests in constant time.
 */
public final class AdminAccess
{
    public static final String ATTRIBUTE = AdminAccess.class.getName();
    public static final String QUERY_PARAMETER = "token";
    public static final String COOKIE = "proxy_admin_token";

    /** Digest of the admin token, or null when the endpoints are open. */
    private final byte[] digest;

    AdminAccess(String adminToken)
    {
        this.digest = adminToken == null ? null : TokenDigest.of(adminToken);
    }

    /** The webapp's admin access, put in the context by {@link KeyPoolInitializer}. */
    public static AdminAccess from(ServletContext context)
    {
        AdminAccess access = (AdminAccess)context.getAttribute(ATTRIBUTE);
        if (access == null)
            throw new IllegalStateException("No admin access in the servlet context: declare " + KeyPoolInitializer.class.getName() + " as a listener in web.xml.");
        return access;
    }

    /** Whether an admin token is set at all. */
    public boolean required()
    {
        return digest != null;
    }

    public boolean allows(HttpServletRequest request)
    {
        if (digest == null)
            return true;
        // Check every place, not the first one found, so a wrong header does not hide a right cookie.
        boolean allowed = TokenDigest.matches(digest, TokenDigest.bearerOf(request.getHeader("Authorization")));
        allowed |= TokenDigest.matches(digest, request.getParameter(QUERY_PARAMETER));
        Cookie[] cookies = request.getCookies();
        if (cookies != null)
        {
            for (Cookie cookie : cookies)
            {
                if (COOKIE.equals(cookie.getName()))
                    allowed |= TokenDigest.matches(digest, cookie.getValue());
            }
        }
        return allowed;
    }

    /** The 401 for a request that {@link #allows} refused, in Cerebras's error shape. */
    public void refuse(HttpServletResponse response) throws IOException
    {
        new ProxyError(401, "authentication_error", "invalid_admin_token", null,
            "This endpoint needs the proxy's admin token (PROXY_ADMIN_TOKEN) as Authorization: Bearer <token>.")
            .sendTo(response, "WWW-Authenticate", "Bearer");
    }
}
