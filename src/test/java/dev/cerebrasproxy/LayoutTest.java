package dev.cerebrasproxy;

import java.util.Map;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each of {@link Layout}'s rules fails on a tree that breaks it: the classes of
 * dev.cerebrasproxy.violations (test classes, laid out like the project's) break every
 * rule on purpose. A rule that passed there would pass whatever the code did.
 */
class LayoutTest
{
    private static final String VIOLATIONS = ProxyWebapp.class.getPackageName() + ".violations";

    @Test
    void everyRuleCatchesAClassThatBreaksIt()
    {
        JavaClasses classes = new ClassFileImporter().importPackages(VIOLATIONS);
        Map<String, ArchRule> rules = Layout.all(VIOLATIONS);
        assertFalse(rules.isEmpty());
        rules.forEach((name, rule) -> assertTrue(rule.evaluate(classes).hasViolation(), name + " found nothing wrong in " + VIOLATIONS));
    }
}
