package dev.cerebrasproxy;

import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package rules, for the project's classes ({@link ArchitectureTest}) or for any tree
 * laid out like them ({@code LayoutTest} proves each rule catches a class that breaks it).
 */
final class Layout
{
    private static final String[] SERVLETS_AND_JETTY = {"jakarta.servlet..", "org.eclipse.jetty.."};

    private Layout()
    {
    }

    /** What learns about keys and what reads settings must run without a container: no servlet or Jetty type. */
    static ArchRule poolAndConfigKnowNoServletOrJetty(String base)
    {
        return noClasses().that().resideInAnyPackage(base + ".pool..", base + ".config..")
            .should().dependOnClassesThat().resideInAnyPackage(SERVLETS_AND_JETTY)
            .because("the pool and the settings are plain Java: a later store for the pool's state must not need a servlet");
    }

    static ArchRule poolDependsOnNoOtherPackage(String base)
    {
        return noClasses().that().resideInAPackage(base + ".pool..")
            .should().dependOnClassesThat().resideInAnyPackage(base, base + ".config..", base + ".forward..", base + ".access..", base + ".ops..")
            .because("the pool is the core: everything uses it, it uses nothing of ours");
    }

    static ArchRule configBuildsOnlyOnPoolAndAccess(String base)
    {
        return noClasses().that().resideInAPackage(base + ".config..")
            .should().dependOnClassesThat().resideInAnyPackage(base, base + ".forward..", base + ".ops..")
            .because("settings make keys and tokens, and nothing that serves requests");
    }

    /** The part of access that config builds (tokens, digests) is plain Java; only the request checks read servlet requests. */
    static ArchRule accessIsPlainButForTheRequestCheck(String base)
    {
        return noClasses().that().resideInAPackage(base + ".access..").and().doNotHaveSimpleName("AdminAccess").and().doNotHaveSimpleName("HostCheck")
            .should().dependOnClassesThat().resideInAnyPackage(SERVLETS_AND_JETTY)
            .because("config builds client and admin tokens and must stay servlet-free");
    }

    static ArchRule onlyForwardingUsesJetty(String base)
    {
        return noClasses().that().resideInAPackage(base + "..").and().resideOutsideOfPackage(base + ".forward..")
            .should().dependOnClassesThat().resideInAPackage("org.eclipse.jetty..")
            .because("Jetty's proxy and client are how requests are forwarded; the rest of the webapp runs on any servlet container");
    }

    static ArchRule opsDoesNotDependOnForward(String base)
    {
        return noClasses().that().resideInAPackage(base + ".ops..")
            .should().dependOnClassesThat().resideInAPackage(base + ".forward..")
            .because("the operations endpoints read the pool and the ledger, not the forwarding path");
    }

    static ArchRule subPackagesAreFreeOfCycles(String base)
    {
        return slices().matching(base + ".(*)..").should().beFreeOfCycles();
    }

    /** Every rule above, by name. */
    static java.util.Map<String, ArchRule> all(String base)
    {
        java.util.Map<String, ArchRule> rules = new java.util.LinkedHashMap<>();
        rules.put("poolAndConfigKnowNoServletOrJetty", poolAndConfigKnowNoServletOrJetty(base));
        rules.put("poolDependsOnNoOtherPackage", poolDependsOnNoOtherPackage(base));
        rules.put("configBuildsOnlyOnPoolAndAccess", configBuildsOnlyOnPoolAndAccess(base));
        rules.put("accessIsPlainButForTheRequestCheck", accessIsPlainButForTheRequestCheck(base));
        rules.put("onlyForwardingUsesJetty", onlyForwardingUsesJetty(base));
        rules.put("opsDoesNotDependOnForward", opsDoesNotDependOnForward(base));
        rules.put("subPackagesAreFreeOfCycles", subPackagesAreFreeOfCycles(base));
        return rules;
    }
}
