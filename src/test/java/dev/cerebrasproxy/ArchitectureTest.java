package dev.cerebrasproxy;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The package layout of the main classes (see the README's Layout), as {@link Layout}'s rules. */
@AnalyzeClasses(packagesOf = ProxyWebapp.class, importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest
{
    private static final String BASE = ProxyWebapp.class.getPackageName();

    @ArchTest
    static final ArchRule poolAndConfigKnowNoServletOrJetty = Layout.poolAndConfigKnowNoServletOrJetty(BASE);
    @ArchTest
    static final ArchRule poolDependsOnNoOtherPackage = Layout.poolDependsOnNoOtherPackage(BASE);
    @ArchTest
    static final ArchRule configBuildsOnlyOnPoolAndAccess = Layout.configBuildsOnlyOnPoolAndAccess(BASE);
    @ArchTest
    static final ArchRule accessIsPlainButForTheRequestCheck = Layout.accessIsPlainButForTheRequestCheck(BASE);
    @ArchTest
    static final ArchRule onlyForwardingUsesJetty = Layout.onlyForwardingUsesJetty(BASE);
    @ArchTest
    static final ArchRule opsDoesNotDependOnForward = Layout.opsDoesNotDependOnForward(BASE);
    @ArchTest
    static final ArchRule subPackagesAreFreeOfCycles = Layout.subPackagesAreFreeOfCycles(BASE);
}
