package dev.cerebrasproxy.violations.config;

import dev.cerebrasproxy.violations.ops.Ops;
import org.eclipse.jetty.http.HttpFields;

/** Breaks the layout on purpose (see LayoutTest): settings that hold Jetty's headers and an ops class. */
public class JettyConfig
{
    public HttpFields headers;
    public Ops ops;
}
