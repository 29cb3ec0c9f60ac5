#!/usr/bin/perl
# test/meta_check.pl: META.json (the PGXN distribution metadata) checked
# against the PGXN Meta Spec 1.0.0 and against this source tree.
#
#   perl test/meta_check.pl            check META.json, then the self-test
#   perl test/meta_check.pl FILE       check FILE instead (no self-test)
#
# No PGXN validator is packaged for Debian 12 (PGXN::Meta::Validator is only
# on CPAN), so this implements the spec's rules itself, with core Perl only
# (JSON::PP):
#   - the required keys (name, version, abstract, maintainer, license,
#     provides, meta-spec) and no key the spec does not define (custom keys
#     start with x_ or X_), at the top level and in every structure the spec
#     closes (provides entries, meta-spec, prereqs, resources, no_index);
#   - the types: Terms (2+ characters, no slash, backslash, space or control
#     character), SemVer versions, version ranges ("0", 0, ">= 15.0.0",
#     ">= 1.2.0, != 1.5.0, < 2.0.0"), the license keywords, tags (2 to 255
#     characters), release_status, URIs;
# and what only this tree can tell:
#   - version and provides.rowkeeper.version equal rowkeeper.control's
#     default_version, and debian/changelog's version too;
#   - provides.rowkeeper.file and .docfile exist.
# The self-test then breaks the document in one way at a time and requires
# each broken copy to be rejected with the matching error, so a checker that
# accepts anything cannot pass.  Exits 1 on any error; the last line is
# "meta: ok" or "meta: FAILED".
use strict;
use warnings;
use B ();
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;

my $root = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..'));
my $file = $ARGV[0] // "$root/META.json";

# ---------------------------------------------------------------- types

sub flags { B::svref_2object(\$_[0])->FLAGS }

# A JSON string (not a number, not an object, not a boolean).
sub is_string {
	my ($v) = @_;
	return defined $v && !ref $v && (flags($v) & B::SVp_POK)
		&& !(flags($v) & (B::SVp_IOK | B::SVp_NOK));
}

sub is_integer_zero {
	my ($v) = @_;
	return defined $v && !ref $v && (flags($v) & B::SVp_IOK)
		&& !(flags($v) & B::SVp_POK) && $v == 0;
}

sub is_object { ref $_[0] eq 'HASH' }
sub is_array  { ref $_[0] eq 'ARRAY' }

my $SEMVER = qr/(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)
	(?:-(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)
	   (?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?
	(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?/x;
my $RANGE_ONE = qr/(?:(?:[=!]=|[<>]=?)\s*)?$SEMVER/;
my $URI = qr/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;
my $EMAIL = qr/^[^\s@]+@[^\s@]+$/;

my %LICENSES = map { $_ => 1 } qw(
	agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
	gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0
	mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun zlib
	open_source restricted unrestricted unknown);

# ---------------------------------------------------------------- checks
# Each check_* pushes "path: problem" strings onto @$err.

sub custom_key { $_[0] =~ /^[xX]_./ }

# Keys of an object the spec closes: required ones present, unknown ones
# (other than x_ custom keys) refused.
sub check_keys {
	my ($err, $path, $obj, $required, $optional) = @_;
	my %known = map { $_ => 1 } @$required, @$optional;
	for my $k (@$required) {
		push @$err, "$path: missing required field '$k'" unless exists $obj->{$k};
	}
	for my $k (sort keys %$obj) {
		push @$err, "$path: unknown field '$k' (custom fields start with x_)"
			unless $known{$k} || custom_key($k);
	}
}

sub check_term {
	my ($err, $path, $v) = @_;
	push @$err, "$path: must be a Term (a string of 2 or more characters without /, \\, space or control characters)"
		unless is_string($v) && $v =~ /^[^\/\\\s\p{Cc}]{2,}$/;
}

sub check_version {
	my ($err, $path, $v) = @_;
	push @$err, "$path: must be a SemVer version string (MAJOR.MINOR.PATCH)"
		unless is_string($v) && $v =~ /^$SEMVER$/;
}

sub check_nonempty_string {
	my ($err, $path, $v) = @_;
	push @$err, "$path: must be a non-empty string" unless is_string($v) && length $v;
}

sub check_path {
	my ($err, $path, $v) = @_;
	push @$err, "$path: must be a relative unix path of 2 or more characters"
		unless is_string($v) && length($v) >= 2 && $v !~ m{^/} && $v !~ /\\/;
}

sub check_uri {
	my ($err, $path, $v) = @_;
	push @$err, "$path: must be a URI" unless is_string($v) && $v =~ $URI;
}

sub check_range {
	my ($err, $path, $v) = @_;
	return if is_integer_zero($v);
	push @$err, "$path: must be a version range (0, \"1.2.3\", \">= 1.2.3\", \">= 1.0.0, < 2.0.0\")"
		unless is_string($v)
			&& ($v eq '0' || $v =~ /^$RANGE_ONE(?:,\s*$RANGE_ONE)*$/);
}

sub check_maintainer {
	my ($err, $path, $v) = @_;
	if (is_array($v)) {
		push @$err, "$path: must not be an empty list" unless @$v;
		check_nonempty_string($err, "$path\[$_]", $v->[$_]) for 0 .. $#$v;
	} else {
		push @$err, "$path: must be a non-empty string or a list of them"
			unless is_string($v) && length $v;
	}
}

sub check_license {
	my ($err, $path, $v) = @_;
	if (is_string($v)) {
		push @$err, "$path: '$v' is not a license keyword of the spec (e.g. postgresql, mit, bsd)"
			unless $LICENSES{$v};
	} elsif (is_array($v)) {
		push @$err, "$path: must not be an empty list" unless @$v;
		for my $i (0 .. $#$v) {
			push @$err, "$path\[$i]: not a license keyword of the spec"
				unless is_string($v->[$i]) && $LICENSES{$v->[$i]};
		}
	} elsif (is_object($v)) {
		push @$err, "$path: must not be an empty object" unless %$v;
		check_uri($err, "$path.$_", $v->{$_}) for sort keys %$v;
	} else {
		push @$err, "$path: must be a license keyword, a list of them, or an object of name => URI";
	}
}

sub check_provides {
	my ($err, $path, $v) = @_;
	unless (is_object($v) && %$v) {
		push @$err, "$path: must be a non-empty object of extension name => extension";
		return;
	}
	for my $name (sort keys %$v) {
		my $p = "$path.$name";
		check_term($err, "$p (extension name)", $name);
		my $ext = $v->{$name};
		unless (is_object($ext)) {
			push @$err, "$p: must be an object";
			next;
		}
		check_keys($err, $p, $ext, [qw(file version)], [qw(abstract docfile docpath)]);
		check_path($err, "$p.file", $ext->{file}) if exists $ext->{file};
		check_version($err, "$p.version", $ext->{version}) if exists $ext->{version};
		check_nonempty_string($err, "$p.abstract", $ext->{abstract}) if exists $ext->{abstract};
		check_path($err, "$p.docfile", $ext->{docfile}) if exists $ext->{docfile};
		check_nonempty_string($err, "$p.docpath", $ext->{docpath}) if exists $ext->{docpath};
	}
}

sub check_meta_spec {
	my ($err, $path, $v) = @_;
	unless (is_object($v)) {
		push @$err, "$path: must be an object with a version";
		return;
	}
	check_keys($err, $path, $v, ['version'], ['url']);
	push @$err, "$path.version: must be 1.0.x (this is a v1 document)"
		if exists $v->{version} && !(is_string($v->{version}) && $v->{version} =~ /^1\.0\.\d+$/);
	push @$err, "$path.url: must be https://pgxn.org/meta/spec.txt"
		if exists $v->{url} && !(is_string($v->{url})
			&& $v->{url} =~ m{^https?://pgxn\.org/meta/spec\.txt$});
}

sub check_tags {
	my ($err, $path, $v) = @_;
	unless (is_array($v) && @$v) {
		push @$err, "$path: must be a non-empty list of tags";
		return;
	}
	for my $i (0 .. $#$v) {
		push @$err, "$path\[$i]: a tag is a string of 2 to 255 characters without /, \\ or control characters"
			unless is_string($v->[$i]) && length($v->[$i]) <= 255
				&& $v->[$i] =~ /^[^\/\\\p{Cc}]{2,}$/;
	}
}

sub check_no_index {
	my ($err, $path, $v) = @_;
	unless (is_object($v)) {
		push @$err, "$path: must be an object";
		return;
	}
	check_keys($err, $path, $v, [], [qw(file directory)]);
	push @$err, "$path: needs file or directory"
		unless exists $v->{file} || exists $v->{directory};
	for my $k (grep { exists $v->{$_} } qw(file directory)) {
		my $list = $v->{$k};
		if (is_array($list)) {
			push @$err, "$path.$k: must not be an empty list" unless @$list;
			my %seen;
			for my $i (0 .. $#$list) {
				check_path($err, "$path.$k\[$i]", $list->[$i]);
				push @$err, "$path.$k: duplicate entries"
					if is_string($list->[$i]) && $seen{$list->[$i]}++;
			}
		} else {
			check_path($err, "$path.$k", $list);
		}
	}
}

sub check_prereqs {
	my ($err, $path, $v) = @_;
	unless (is_object($v) && %$v) {
		push @$err, "$path: must be a non-empty object of phase => relationships";
		return;
	}
	check_keys($err, $path, $v, [], [qw(configure build test runtime develop)]);
	for my $phase (sort grep { !custom_key($_) } keys %$v) {
		my $pp = "$path.$phase";
		my $rels = $v->{$phase};
		unless (is_object($rels) && %$rels) {
			push @$err, "$pp: must be a non-empty object of relationship => prerequisites";
			next;
		}
		check_keys($err, $pp, $rels, [], [qw(requires recommends suggests conflicts)]);
		for my $rel (sort grep { !custom_key($_) } keys %$rels) {
			my $rp = "$pp.$rel";
			my $reqs = $rels->{$rel};
			unless (is_object($reqs) && %$reqs) {
				push @$err, "$rp: must be a non-empty object of name => version range";
				next;
			}
			for my $name (sort keys %$reqs) {
				check_term($err, "$rp (prerequisite name '$name')", $name);
				check_range($err, "$rp.$name", $reqs->{$name});
			}
		}
	}
}

sub check_resources {
	my ($err, $path, $v) = @_;
	unless (is_object($v) && %$v) {
		push @$err, "$path: must be a non-empty object";
		return;
	}
	check_keys($err, $path, $v, [], [qw(homepage bugtracker repository)]);
	check_uri($err, "$path.homepage", $v->{homepage}) if exists $v->{homepage};
	if (exists $v->{bugtracker}) {
		my $b = $v->{bugtracker};
		if (is_object($b)) {
			check_keys($err, "$path.bugtracker", $b, [], [qw(web mailto)]);
			push @$err, "$path.bugtracker: needs web or mailto"
				unless exists $b->{web} || exists $b->{mailto};
			check_uri($err, "$path.bugtracker.web", $b->{web}) if exists $b->{web};
			push @$err, "$path.bugtracker.mailto: must be an e-mail address"
				if exists $b->{mailto} && !(is_string($b->{mailto}) && $b->{mailto} =~ $EMAIL);
		} else {
			push @$err, "$path.bugtracker: must be an object";
		}
	}
	if (exists $v->{repository}) {
		my $r = $v->{repository};
		if (is_object($r)) {
			check_keys($err, "$path.repository", $r, [], [qw(url web type)]);
			push @$err, "$path.repository: needs web, or url with type"
				unless exists $r->{web} || (exists $r->{url} && exists $r->{type});
			check_uri($err, "$path.repository.url", $r->{url}) if exists $r->{url};
			check_uri($err, "$path.repository.web", $r->{web}) if exists $r->{web};
			push @$err, "$path.repository.type: must be a lower-case VCS name (git, hg, ...)"
				if exists $r->{type} && !(is_string($r->{type}) && $r->{type} =~ /^[a-z]+$/);
		} else {
			push @$err, "$path.repository: must be an object";
		}
	}
}

# The spec's rules for a whole document.
sub check_spec {
	my ($meta) = @_;
	my @err;
	unless (is_object($meta)) {
		return ('META.json: the document must be a JSON object');
	}
	check_keys(\@err, 'META.json', $meta,
		[qw(name version abstract maintainer license provides meta-spec)],
		[qw(description generated_by tags no_index prereqs release_status resources)]);
	my %field = (
		name           => \&check_term,
		version        => \&check_version,
		abstract       => \&check_nonempty_string,
		description    => \&check_nonempty_string,
		generated_by   => \&check_nonempty_string,
		maintainer     => \&check_maintainer,
		license        => \&check_license,
		provides       => \&check_provides,
		'meta-spec'    => \&check_meta_spec,
		tags           => \&check_tags,
		no_index       => \&check_no_index,
		prereqs        => \&check_prereqs,
		resources      => \&check_resources,
	);
	for my $k (sort keys %field) {
		$field{$k}->(\@err, $k, $meta->{$k}) if exists $meta->{$k};
	}
	push @err, "release_status: must be stable, testing or unstable"
		if exists $meta->{release_status}
			&& !(is_string($meta->{release_status})
				&& $meta->{release_status} =~ /^(?:stable|testing|unstable)$/);
	return @err;
}

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or die "cannot read $path: $!\n";
	local $/;
	return scalar <$fh>;
}

# What rowkeeper.control says the version is.
sub control_version {
	my $text = slurp("$root/rowkeeper.control");
	$text =~ /^default_version\s*=\s*'([^']*)'/m
		or die "rowkeeper.control: no default_version\n";
	return $1;
}

# debian/changelog's version, without a Debian revision (-N), if present.
sub changelog_version {
	my $path = "$root/debian/changelog";
	return undef unless -f $path;
	my ($first) = split /\n/, slurp($path);
	$first =~ /^\S+ \(([^)]+)\)/ or die "debian/changelog: cannot read the version\n";
	(my $v = $1) =~ s/-[^-]*$//;
	$v =~ s/^\d+://;
	return $v;
}

# The rules that tie the document to this tree.
sub check_tree {
	my ($meta) = @_;
	my @err;
	return @err unless is_object($meta);
	my $cv = control_version();
	push @err, "version: '" . ($meta->{version} // '') . "' differs from rowkeeper.control default_version '$cv'"
		unless is_string($meta->{version}) && $meta->{version} eq $cv;
	push @err, "name: must be 'rowkeeper'"
		unless is_string($meta->{name}) && $meta->{name} eq 'rowkeeper';
	my $ext = is_object($meta->{provides}) ? $meta->{provides}{rowkeeper} : undef;
	if (!is_object($ext)) {
		push @err, "provides.rowkeeper: missing";
	} else {
		push @err, "provides.rowkeeper.version: differs from rowkeeper.control default_version '$cv'"
			unless is_string($ext->{version}) && $ext->{version} eq $cv;
		for my $k (qw(file docfile)) {
			next unless is_string($ext->{$k});
			push @err, "provides.rowkeeper.$k: '$ext->{$k}' does not exist in the tree"
				unless -f "$root/$ext->{$k}";
		}
	}
	my $dv = changelog_version();
	push @err, "debian/changelog: version '$dv' differs from rowkeeper.control default_version '$cv'"
		if defined $dv && $dv ne $cv;
	my $pg = is_object($meta->{prereqs}) && is_object($meta->{prereqs}{runtime})
		&& is_object($meta->{prereqs}{runtime}{requires})
		? $meta->{prereqs}{runtime}{requires}{PostgreSQL} : undef;
	push @err, "prereqs.runtime.requires.PostgreSQL: must require 15 or later ('>= 15.0.0')"
		unless is_string($pg) && $pg =~ /^>=\s*15\.0\.0$/;
	return @err;
}

sub check_all { my ($m) = @_; return (check_spec($m), check_tree($m)); }

# ---------------------------------------------------------------- self-test
# Each case breaks a fresh copy of the document and names the error it must
# produce.
sub self_test {
	my ($text) = @_;
	my @cases = (
		(map { my $k = $_; ["without $k", sub { delete $_[0]{$k} }, qr/missing required field '\Q$k\E'/] }
			qw(name version abstract maintainer license provides meta-spec)),
		['unknown top-level key', sub { $_[0]{homepage} = 'https://x.example/' }, qr/unknown field 'homepage'/],
		['license not a keyword', sub { $_[0]{license} = 'PostgreSQL' }, qr/^license: 'PostgreSQL' is not a license keyword/],
		['license empty list', sub { $_[0]{license} = [] }, qr/^license: must not be an empty list/],
		['version not SemVer', sub { $_[0]{version} = '0.2' }, qr/^version: must be a SemVer/],
		['version a number', sub { $_[0]{version} = 2 }, qr/^version: must be a SemVer/],
		['version not the control file\'s', sub { $_[0]{version} = '9.9.9'; $_[0]{provides}{rowkeeper}{version} = '9.9.9' },
			qr/^version: '9\.9\.9' differs from rowkeeper\.control/],
		['extension version not the control file\'s', sub { $_[0]{provides}{rowkeeper}{version} = '0.1.0' },
			qr/^provides\.rowkeeper\.version: differs/],
		['name with a space', sub { $_[0]{name} = 'row keeper' }, qr/^name: must be a Term/],
		['provides file missing', sub { $_[0]{provides}{rowkeeper}{file} = 'sql/nowhere.sql' },
			qr/provides\.rowkeeper\.file: 'sql\/nowhere\.sql' does not exist/],
		['provides without file', sub { delete $_[0]{provides}{rowkeeper}{file} },
			qr/^provides\.rowkeeper: missing required field 'file'/],
		['provides unknown key', sub { $_[0]{provides}{rowkeeper}{module} = 'x' },
			qr/^provides\.rowkeeper: unknown field 'module'/],
		['provides empty', sub { $_[0]{provides} = {} }, qr/^provides: must be a non-empty object/],
		['meta-spec 2.0.0', sub { $_[0]{'meta-spec'}{version} = '2.0.0' }, qr/^meta-spec\.version: must be 1\.0\.x/],
		['prereq bare major', sub { $_[0]{prereqs}{runtime}{requires}{PostgreSQL} = '15' },
			qr/^prereqs\.runtime\.requires\.PostgreSQL: must be a version range/],
		['prereq number 15', sub { $_[0]{prereqs}{runtime}{requires}{plpgsql} = 15 },
			qr/^prereqs\.runtime\.requires\.plpgsql: must be a version range/],
		['prereq unknown phase', sub { $_[0]{prereqs}{install} = { requires => { plpgsql => 0 } } },
			qr/^prereqs: unknown field 'install'/],
		['prereq unknown relationship', sub { $_[0]{prereqs}{runtime}{needs} = { plpgsql => 0 } },
			qr/^prereqs\.runtime: unknown field 'needs'/],
		['tags empty', sub { $_[0]{tags} = [] }, qr/^tags: must be a non-empty list/],
		['tag with a slash', sub { $_[0]{tags} = ['a/b'] }, qr/^tags\[0\]: a tag is/],
		['release_status beta', sub { $_[0]{release_status} = 'beta' }, qr/^release_status: must be stable/],
		['repository type only', sub { $_[0]{resources}{repository} = { type => 'git' } },
			qr/^resources\.repository: needs web, or url with type/],
		['homepage not a URI', sub { $_[0]{resources}{homepage} = 'rowkeeper home' },
			qr/^resources\.homepage: must be a URI/],
		['maintainer empty list', sub { $_[0]{maintainer} = [] }, qr/^maintainer: must not be an empty list/],
	);
	my @fail;
	for my $case (@cases) {
		my ($label, $break, $want) = @$case;
		my $copy = JSON::PP->new->decode($text);
		$break->($copy);
		my @err = check_all($copy);
		push @fail, "self-test '$label': expected an error matching $want, got: "
			. (@err ? join('; ', @err) : 'no error')
			unless grep { $_ =~ $want } @err;
	}
	return (scalar @cases, @fail);
}

# ---------------------------------------------------------------- main

my $text = slurp($file);
my $meta = eval { JSON::PP->new->decode($text) };
if (!defined $meta) {
	print "$file: not valid JSON: $@";
	print "meta: FAILED\n";
	exit 1;
}
my @errors = check_all($meta);
print "$file: $_\n" for @errors;

my $ncases = 0;
unless (@ARGV || @errors) {
	($ncases, my @fail) = self_test($text);
	print "$_\n" for @fail;
	push @errors, @fail;
}

# Placeholders are allowed (the spec cannot tell) but said out loud.
if (is_object($meta) && is_object($meta->{resources})) {
	my $json = JSON::PP->new->canonical->encode($meta->{resources});
	print "meta: note: resources point at a placeholder host (.example); set the real ones before uploading to PGXN\n"
		if $json =~ m{://[^/"]*\.example[/"]};
}

if (@errors) {
	print "meta: FAILED (" . scalar(@errors) . " errors)\n";
	exit 1;
}
printf "meta: ok (%s is valid PGXN Meta Spec %s; version %s = rowkeeper.control default_version%s)\n",
	$file =~ s{^\Q$root\E/}{}r, $meta->{'meta-spec'}{version}, $meta->{version},
	$ncases ? "; $ncases broken copies rejected" : '';
exit 0;
