package dev.cerebrasproxy.violations.forward;

import dev.cerebrasproxy.violations.pool.ServletPool;

/** Breaks the layout on purpose (see LayoutTest): forwarding and the pool use each other, a cycle. */
public class Forwarder
{
    public ServletPool pool;
}
