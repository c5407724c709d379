#!/usr/bin/perl
# scripts/upgrade_script.pl -- build the upgrade script to the version being
# developed (called by the Makefile; see docs/operations.md "Upgrading").
#
#   scripts/upgrade_script.pl FROM TO src/upgrade/FROM--TO.sql src/sql/*.sql
#
# An upgrade script has two parts:
#
#   1. the state migration, written by hand in src/upgrade/FROM--TO.sql:
#      what only an upgrade needs -- new and changed tables, columns,
#      constraints, indexes, sequences, domains, the values new columns
#      take from existing rows, checks that refuse data the new version
#      cannot hold, and DROPs of functions whose signature, argument
#      names or result changed (and of objects that went away).  A new
#      table or index is not written out again: the line
#      `\create_as_installed NAME...` stands for the CREATE TABLE (with the
#      table's indexes) or CREATE INDEX of src/sql, so it is the fresh
#      install's to the letter;
#   2. the code, generated here from src/sql/*.sql (the install script of
#      TO): every function, view, trigger, policy, comment, grant and
#      role, re-created with CREATE OR REPLACE (functions keep their oid,
#      so objects of the DBA's that depend on them survive), views and
#      policies dropped first and created anew (a view's columns may
#      change anywhere; a policy has no OR REPLACE), privileges of the
#      escrow_* roles and PUBLIC reset to exactly what the install
#      script grants.  Statements that create state (CREATE TABLE, INDEX,
#      SEQUENCE, DOMAIN, INSERT) are left out: part 1 owns them.
#
# So functions are never copy-pasted into an upgrade script, and the code
# part cannot drift from the install script.  Once TO is released, its
# upgrade script is frozen in the tree as built (like escrowpay--0.1.0.sql)
# and src/upgrade/FROM--TO.sql is removed; the next version starts a new
# src/upgrade/TO--NEXT.sql.  test/t/007_upgrade.pl proves the result equals
# a fresh install.
#
# A statement of a kind not listed below stops the build: decide which part
# it belongs to and teach this script.

use strict;
use warnings;

die "usage: $0 FROM TO STATE.sql SRC.sql...\n" unless @ARGV >= 4;
my ($from, $to, $state, @src) = @ARGV;

sub slurp
{
	my ($f) = @_;
	open my $fh, '<', $f or die "$0: cannot read $f: $!\n";
	local $/;
	return scalar <$fh>;
}

# Split SQL text into statements: ; ends one, except inside quotes,
# dollar quotes and comments.  psql meta-commands (a line starting with a
# backslash) are returned as statements of their own.
sub statements
{
	my ($text, $file) = @_;
	my (@out, $cur);
	$cur = '';
	my $i = 0;
	my $n = length $text;
	while ($i < $n)
	{
		my $rest = substr($text, $i);
		if ($cur =~ /^\s*$/ && $rest =~ /^(\\[^\n]*\n?)/)
		{
			push @out, $1;
			$cur = '';
			$i += length $1;
		}
		elsif ($rest =~ /^(--[^\n]*\n?)/)
		{
			$cur .= $1;
			$i += length $1;
		}
		elsif ($rest =~ /^(\/\*.*?\*\/)/s)
		{
			$cur .= $1;
			$i += length $1;
		}
		elsif ($rest =~ /^('(?:[^']|'')*')/s)
		{
			$cur .= $1;
			$i += length $1;
		}
		elsif ($rest =~ /^(\$([A-Za-z_][A-Za-z_0-9]*)?\$)/)
		{
			my $tag = $1;
			my $end = index($text, $tag, $i + length $tag);
			die "$0: $file: unterminated $tag quote\n" if $end < 0;
			$cur .= substr($text, $i, $end + length($tag) - $i);
			$i = $end + length $tag;
		}
		elsif ($rest =~ /^;/)
		{
			push @out, "$cur;";
			$cur = '';
			$i++;
		}
		else
		{
			$rest =~ /^([^-\/'\$;]+|.)/s;
			$cur .= $1;
			$i += length $1;
		}
	}
	die "$0: $file: text after the last statement: $cur\n" if $cur =~ /\S/ && strip($cur) ne '';
	return @out;
}

# A statement without its leading comments and blank lines
sub strip
{
	my ($s) = @_;
	1 while $s =~ s/^\s*--[^\n]*\n?// || $s =~ s/^\s+//;
	return $s;
}

my @code;
my (@views, %policies);
# the CREATE TABLE / INDEX statements of src/sql: a table's name gives it
# and its indexes, an index's name gives the index
my %installed;
for my $file (@src)
{
	(my $short = $file) =~ s{.*/}{};
	push @code, "\n-- from src/sql/$short\n";
	for my $stmt (statements(slurp($file), $file))
	{
		my $s = strip($stmt);
		next if $s eq '' || $s eq ';';
		my $head = uc join(" ", grep { defined } (split /\s+/, $s)[ 0 .. 3 ]);
		if ($s =~ /^\\/)
		{
			next;    # \echo ... \quit of the install script
		}
		elsif ($head =~ /^CREATE (TABLE|SEQUENCE|DOMAIN|TYPE|UNIQUE INDEX|INDEX)\b/
			|| $head =~ /^INSERT\b/)
		{
			# state: src/upgrade owns it, and may take a new table or
			# index from here (\create_as_installed, below)
			if ($s =~ /^CREATE\s+TABLE\s+([a-z_.]+)/i)
			{
				push @{ $installed{$1} }, $s;
			}
			elsif ($s =~ /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+([a-z_]+)\s+ON\s+([a-z_.]+)/i)
			{
				$installed{$1} = [$s];
				push @{ $installed{$2} }, $s;
			}
			next;
		}
		elsif ($s =~ s/^CREATE\s+FUNCTION\b/CREATE OR REPLACE FUNCTION/i
			|| $s =~ s/^CREATE\s+TRIGGER\b/CREATE OR REPLACE TRIGGER/i)
		{
			push @code, "$s\n";
		}
		elsif ($s =~ /^CREATE\s+VIEW\s+([a-z_.]+)/i)
		{
			push @views, $1;
			push @code, "$s\n";
		}
		elsif ($s =~ /^CREATE\s+POLICY\s+([a-z_]+)\s+ON\s+([a-z_.]+)/i)
		{
			$policies{"$1 ON $2"} = 1;
			push @code, "$s\n";
		}
		elsif ($head =~ /^(COMMENT ON|GRANT|REVOKE|DO)\b/
			|| $s =~ /^SELECT\s+pg_catalog\.pg_extension_config_dump\s*\(/i
			|| $s =~ /^ALTER\s+TABLE\s+[a-z_.]+\s+(ENABLE\s+ALWAYS\s+TRIGGER\s+[a-z_]+|ENABLE\s+ROW\s+LEVEL\s+SECURITY|SET\s*\([a-z_ =0-9,]+\))\s*;$/is)
		{
			push @code, "$s\n";    # idempotent: runs again as it is
		}
		else
		{
			die "$0: $file: do not know which part of the upgrade this statement belongs to:\n$s\n";
		}
	}
}

# the roles the install script grants to (its DO block creating them)
my ($roles_array) = join('', map { slurp($_) } @src) =~ /FOREACH\s+r\s+IN\s+ARRAY\s+ARRAY\[([^\]]*)\]/;
die "$0: no roles found in src/sql (FOREACH r IN ARRAY ARRAY['escrow_admin', ...])\n" unless $roles_array;
my $roles = join(', ', sort $roles_array =~ /'([a-z_]+)'/g);

# The state migration, where a line "\create_as_installed NAME..." stands
# for the statements src/sql creates table NAME (and its indexes) or index
# NAME with: a new table is written once, as a fresh install has it.
my $state_sql = slurp($state);
$state_sql =~ s{^\\create_as_installed\s+([^\n]*?)\s*\n}{
	join('', map {
			my $name = $_;
			die "$0: $state: \\create_as_installed $name: no such table or index in src/sql\n"
			  unless $installed{$name};
			map { "$_\n" } @{ $installed{$name} };
		} split(/\s+/, $1))
}gem;

print <<"EOS";
-- escrowpay upgrade script $from -> $to, built by scripts/upgrade_script.pl
-- from src/upgrade/$from--$to.sql (the state migration, part 1) and
-- src/sql/*.sql (the code of $to, part 2).  Frozen once $to is released.

\\echo Use "ALTER EXTENSION escrowpay UPDATE TO '$to'" to load this file. \\quit

-- ================================================================ part 0
-- Views and row-level security policies are re-created by part 2: drop
-- them first (their columns may change, a policy has no OR REPLACE, and
-- part 1 may change the columns they read).  A view of the DBA's built on
-- one of escrowpay's stops the upgrade here ("other objects depend on
-- it"): drop it first and re-create it afterwards.  Privileges the DBA
-- granted on escrowpay's views to roles of its own are noted here, and
-- listed at the end (part 3) as the GRANTs to run again.

DO \$drop\$
DECLARE
    r record;
    left_over text;
BEGIN
    -- the DBA's privileges on the views, for part 3
    PERFORM pg_catalog.set_config('escrowpay_upgrade.view_grants', coalesce((
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'view', c.relname, 'grantee', a.grantee::regrole::text,
                   'privilege', a.privilege_type, 'grantable', a.is_grantable))
          FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
         WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind = 'v'
           AND a.grantee <> 0 AND a.grantee <> c.relowner
           AND a.grantee::regrole::text NOT IN (SELECT pg_catalog.quote_ident(rn)
                                                  FROM pg_catalog.unnest('{$roles}'::text[]) rn)), '[]')::text, true);
    FOR r IN SELECT p.polname, c.relname
               FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
              WHERE c.relnamespace = 'escrow'::regnamespace LOOP
        EXECUTE pg_catalog.format('DROP POLICY %I ON escrow.%I', r.polname, r.relname);
    END LOOP;
    -- views no other view reads first, until none is left
    LOOP
        SELECT c.relname INTO r FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind = 'v'
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                             JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid
                            WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass
                              AND d.refobjid = c.oid AND w.ev_class <> c.oid)
         LIMIT 1;
        EXIT WHEN NOT FOUND;
        EXECUTE pg_catalog.format('DROP VIEW escrow.%I', r.relname);
    END LOOP;
    SELECT pg_catalog.string_agg(DISTINCT c.relname || ' (read by ' || w.ev_class::regclass::text || ')', ', ')
      INTO left_over
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_depend d ON d.refobjid = c.oid AND d.classid = 'pg_catalog.pg_rewrite'::regclass
      JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid AND w.ev_class <> c.oid
     WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind = 'v';
    IF left_over IS NOT NULL THEN
        RAISE EXCEPTION 'escrowpay''s views are read by views of your own: %', left_over
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The upgrade re-creates escrowpay''s views, and cannot drop them while other views read them.',
                  HINT = 'Drop those views, run ALTER EXTENSION escrowpay UPDATE, then create them again.';
    END IF;
END
\$drop\$;

-- ================================================================ part 1
-- the state migration (src/upgrade/$from--$to.sql)

$state_sql
-- ================================================================ part 2
-- the code of $to (src/sql/*.sql)

-- privileges of escrowpay's roles ($roles) and PUBLIC on every
-- object of schema escrow: reset here, granted below exactly as the
-- install script grants them
DO \$reset\$
DECLARE
    r record;
    roles text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(rolname), ', ' ORDER BY rolname) || ', PUBLIC'
      INTO roles FROM pg_catalog.pg_roles WHERE rolname = ANY ('{$roles}');
    FOR r IN SELECT c.oid::regclass AS obj, c.relkind
               FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'escrow'::regnamespace AND c.relkind IN ('r', 'S', 'v', 'p') LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM %s',
                                  CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.obj, roles);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS obj, p.prokind
               FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'escrow'::regnamespace LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM %s',
                                  CASE WHEN r.prokind = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.obj, roles);
    END LOOP;
    EXECUTE 'REVOKE ALL ON SCHEMA escrow FROM ' || roles;
END
\$reset\$;
@code
-- ================================================================ part 3
-- the DBA's own privileges on escrowpay's views are gone with the old
-- views: say which, as the statements that grant them again.  (Granting
-- them here would record them as the extension's own initial privileges,
-- which pg_dump leaves out.)

DO \$regrant\$
DECLARE
    grants text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('GRANT %s ON escrow.%I TO %s%s;', g.privilege, g.view,
                                                   g.grantee, CASE WHEN g.grantable THEN ' WITH GRANT OPTION' ELSE '' END),
                                 ' ' ORDER BY g.view, g.grantee, g.privilege)
      INTO grants
      FROM pg_catalog.jsonb_to_recordset(pg_catalog.current_setting('escrowpay_upgrade.view_grants')::jsonb)
           AS g(view text, grantee text, privilege text, grantable boolean);
    IF grants IS NOT NULL THEN
        RAISE WARNING 'escrowpay''s views were re-created without the privileges you had granted on them to roles of your own'
            USING HINT = 'Grant them again: ' || grants;
    END IF;
END
\$regrant\$;
EOS
