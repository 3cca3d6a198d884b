package dev.cerebrasproxy;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

import jakarta.servlet.ServletContext;
import jakarta.servlet.http.HttpServletRequest;

/**
 * Asks the webapp's {@code dev.cerebrasproxy.AdminAccess} (the servlet context attribute
 * of that name: it checks PROXY_ADMIN_TOKEN) whether a request may see the operations
 * pages. Without one in the context, the pages are open.
 *
 * <p>It calls {@code boolean allows(HttpServletRequest)} by name rather than by type
 * because AdminAccess is built on another branch; once both are merged this can become
 * a plain cast.
 */
final class AdminGate
{
    static final String ATTRIBUTE = "dev.cerebrasproxy.AdminAccess";

    private final Object access;
    private final Method allows;

    private AdminGate(Object access, Method allows)
    {
        this.access = access;
        this.allows = allows;
    }

    static AdminGate of(ServletContext context)
    {
        Object access = context.getAttribute(ATTRIBUTE);
        if (access == null)
            return new AdminGate(null, null);
        try
        {
            return new AdminGate(access, access.getClass().getMethod("allows", HttpServletRequest.class));
        }
        catch (NoSuchMethodException e)
        {
            throw new IllegalStateException(ATTRIBUTE + " in the servlet context has no method allows(HttpServletRequest)", e);
        }
    }

    boolean allows(HttpServletRequest request)
    {
        if (access == null)
            return true;
        try
        {
            return (Boolean)allows.invoke(access, request);
        }
        catch (IllegalAccessException | InvocationTargetException e)
        {
            // Fail closed: an access check that broke must not open the page.
            return false;
        }
    }
}
