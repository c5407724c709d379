# 009_release_metadata.pl -- the release metadata agrees with the extension.
#
# META.json (PGXN) is valid JSON and follows the PGXN Meta Spec 1.0.0: the
# required keys (name, abstract, version, maintainer, license, provides,
# meta-spec) are there with the right types; name and version are
# escrowpay.control's extension name and default_version, and so is the
# version of the extension it provides, whose file exists; versions are
# semantic versions; the licence is "postgresql", as LICENSE says; the
# prerequisite is PostgreSQL 15. CHANGELOG.md has a section for that
# version, and one for every version whose install script ships.  What
# ships speaks in the domain's terms: no file of the documentation, the
# demo, the examples, the scripts, the sources, the regress files or the
# package names a work item instead ("seed 004", "issue 4", a step code
# such as S10); the frozen 0.1.0 install script, as it shipped, is not
# looked at.
# No server needed.

use strict;
use warnings;

use File::Find;
use FindBin;
use JSON::PP;
use Test::More;

my $root = "$FindBin::RealBin/../..";

sub slurp
{
	my ($f) = @_;
	open my $fh, '<', "$root/$f" or die "cannot read $f: $!";
	local $/;
	return scalar <$fh>;
}

my $control = slurp('escrowpay.control');
my ($version) = $control =~ /^default_version\s*=\s*'([^']+)'/m;
ok(defined $version, "escrowpay.control has a default_version ($version)");

my $meta = eval { JSON::PP->new->relaxed(0)->decode(slurp('META.json')) };
ok($meta, 'META.json is valid JSON') or diag($@);
$meta //= {};

my $semver = qr/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
for my $key (qw(name abstract version maintainer license provides meta-spec))
{
	ok(exists $meta->{$key}, "META.json has the required key $key");
}
is($meta->{name}, 'escrowpay', 'name is the extension name');
is($meta->{version}, $version, 'version is escrowpay.control\'s default_version');
like($meta->{version} // '', $semver, 'version is a semantic version');
ok(!ref $meta->{abstract} && length($meta->{abstract} // ''), 'abstract is a string');
my $maint = $meta->{maintainer};
ok((!ref $maint && length($maint // '')) || (ref $maint eq 'ARRAY' && @$maint),
	'maintainer is a string or a non-empty list');
is($meta->{license}, 'postgresql', 'license is postgresql');
like(slurp('LICENSE'), qr/Permission to use, copy, modify, and distribute this software/,
	'LICENSE holds the PostgreSQL Licence');
is($meta->{'meta-spec'}{version}, '1.0.0', 'meta-spec version 1.0.0');

my $ext = $meta->{provides}{escrowpay} // {};
is($ext->{version}, $version, 'provides escrowpay at that version');
ok(defined $ext->{file} && -f "$root/$ext->{file}", 'the provided file exists');
ok(!ref $ext->{abstract} && length($ext->{abstract} // ''), 'the provided extension has an abstract');

is($meta->{prereqs}{runtime}{requires}{PostgreSQL}, '15.0.0', 'requires PostgreSQL 15');
for my $phase (keys %{ $meta->{prereqs} // {} })
{
	for my $rel (keys %{ $meta->{prereqs}{$phase} })
	{
		like($rel, qr/^(requires|recommends|suggests|conflicts)$/,
			"prereqs $phase: $rel is a relationship of the spec");
	}
}
if (my $res = $meta->{resources})
{
	for my $k (keys %$res)
	{
		like($k, qr/^(homepage|bugtracker|repository|x_.*)$/i, "resources: $k is a key of the spec");
	}
}
ok(!defined $meta->{release_status} || $meta->{release_status} =~ /^(stable|testing|unstable)$/,
	'release_status is stable, testing or unstable');

# the changelog: this version and every released one
my $changelog = slurp('CHANGELOG.md');
my @released = map { m{escrowpay--(\d+\.\d+\.\d+)\.sql$} ? $1 : () } glob("$root/escrowpay--*.sql");
my %seen;
for my $v (grep { !$seen{$_}++ } $version, @released)
{
	like($changelog, qr/^## \Q$v\E\b/m, "CHANGELOG.md has a section for $v");
}
unlike($changelog, qr/\b(issue|seed) #?\d+/i, 'CHANGELOG.md speaks in domain terms, not issue numbers');

# no internal labels in what ships (test/ holds random seeds and party
# numbers such as S1, which are no labels, and is not looked at)
my @labels;
find({ no_chdir => 1, wanted => sub {
	my $f = $File::Find::name;
	return unless -f $f && open(my $fh, '<', $f);
	local $/;
	my $text = <$fh>;
	return if $text =~ /\0/;    # a binary built in the tree
	(my $rel = $f) =~ s{^\Q$root\E/}{};
	push @labels, "$rel: $1"
	  while $text =~ /(\bseeds? 0\d\d\b|\bissues? #?\d+\b|\bstep (?:code )?[A-Z]\d+\b|\bS\d\d\b)/gi;
} }, grep { -e } map { "$root/$_" } qw(README.md CHANGELOG.md META.json Makefile docs examples
  scripts src sql debian));
is(join("\n", @labels), '', 'no internal labels (seed or issue numbers, step codes) in what ships');

done_testing();
