package dev.cerebrasproxy.violations.ops;

import dev.cerebrasproxy.violations.forward.Forwarder;

/** Breaks the layout on purpose (see LayoutTest): an operations endpoint that reaches into forwarding. */
public class Ops
{
    public Forwarder forwarder;
}
