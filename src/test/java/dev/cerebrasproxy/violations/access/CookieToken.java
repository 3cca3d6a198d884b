package dev.cerebrasproxy.violations.access;

import jakarta.servlet.http.Cookie;

/** Breaks the layout on purpose (see LayoutTest): a token, of the kind config builds, that holds a servlet cookie. */
public class CookieToken
{
    public Cookie cookie;
}
