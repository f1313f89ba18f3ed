#!/bin/sh
# Every reference to a document must lead somewhere inside the repository, so a clone carries its
# own knowledge. Fails on:
#  - a mention of the wire, design, Home Assistant or style notes by bare file name (they once
#    lived outside the repository; their content is in docs/ now, cited as docs/<name>.md);
#  - a path into a directory outside the repository (../shared/…);
#  - a docs/<name>.md that does not exist, or a section it cites ("docs/protocol.md §6.4",
#    "docs/style.md #8", 'docs/protocol.md, "Correlating replies"') that the document lacks;
#  - a relative Markdown link whose file, or whose #anchor in a Markdown file, does not exist.
# Usage: doc_references.sh SOURCE_DIR. Checks every file git knows (tracked or not ignored), or
# every file under SOURCE_DIR without git; never the fuzz corpora (binary inputs).
set -eu
root=${1:?usage: doc_references.sh SOURCE_DIR}
cd "$root"
if [ -e .git ] && command -v git >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard
else
    find . -path ./.git -prune -o -path './build*' -prune -o -type f -print0 | sed -z 's|^\./||'
fi | perl -0 -e '
use strict;
use warnings;
use utf8;
binmode(STDOUT, ":encoding(UTF-8)");
use File::Basename qw(dirname);
use File::Spec;

my $self = "tests/doc_references.sh";
my @files = grep { length && $_ ne $self && !m{^tests/fuzz/corpus/} && -f $_ } map { chomp; $_ } <STDIN>;
my $failures = 0;
my %text_of;

sub fail { my ($where, $what) = @_; print "$where: $what\n"; $failures++; }

sub slurp {
    my ($path) = @_;
    return $text_of{$path} if exists $text_of{$path};
    open(my $fh, "<:raw", $path) or return $text_of{$path} = undef;
    local $/;
    my $text = <$fh>;
    $text = "" unless defined $text;
    utf8::decode($text);
    return $text_of{$path} = $text;
}

# The anchors GitHub gives the headings of a Markdown file.
my %anchors_of;
sub anchors {
    my ($path) = @_;
    return $anchors_of{$path} if $anchors_of{$path};
    my (%anchors, %count);
    my $fence = 0;
    for my $line (split /\n/, slurp($path) // "") {
        $fence = !$fence if $line =~ /^\s*```/;
        next if $fence || $line !~ /^#+\s+(.*?)\s*$/;
        my $slug = lc $1;
        $slug =~ s/[^\p{L}\p{N}_\- ]//g;
        $slug =~ s/ /-/g;
        my $n = $count{$slug}++;
        $anchors{$n ? "$slug-$n" : $slug} = 1;
    }
    return $anchors_of{$path} = \%anchors;
}

# Whether a document has the section a citation names.
sub has_section {
    my ($doc, $mark, $id) = @_;
    my $text = slurp($doc) // return 0;
    if ($mark eq "#") { return $text =~ /^\Q$id\E\. /m; }                     # numbered rule
    if ($mark eq "\"") { return $text =~ /^#+ .*\Q$id\E|\*\*\Q$id\E/mi; }    # heading or bold title
    if ($mark eq "") { return $text =~ /^\| \Q$id\E[ |–]/m; }              # G1, [A1]: vector table
    return $text =~ /^#+ \Q$id\E\.? /m;                                     # §6.4: numbered heading
}

my $outside = qr{(?:protocol|design|ha-discovery|house-style|elite-v2-live)\.md};
for my $file (@files) {
    my $text = slurp($file);
    next if !defined $text || $text =~ /\x00/;
    my $is_md = $file =~ /\.md$/;
    my $n = 0;
    for my $line (split /\n/, $text) {
        $n++;
        my $at = "$file:$n";
        while ($line =~ /(?<![\w\/.-])((?:\.\.\/)*(?:\w+\/)*)($outside)/g) {
            my ($dir, $name, $start) = ($1, $2, $-[0]);
            next if $dir eq "docs/";
            # In docs/, a Markdown link to a neighbour: [protocol.md](protocol.md) (the link is checked below).
            my $before = substr($line, 0, $start);
            next if $is_md && $file =~ m{^docs/[^/]+$} && $dir eq "" && $before =~ /(?:\[|\]\()$/;
            fail($at, "\"$dir$name\" is not in the repository: cite docs/<name>.md");
        }
        fail($at, "\"house-style\" notes are docs/style.md now") if $line =~ /house-style(?!\.md)/;
        fail($at, "a path outside the repository: \"$1\"") if $line =~ /(?<![\w\/.-])((?:\.\.\/)+shared\/[\w.\/-]*|shared\/(?:captures|seeds)[\w.\/-]*)/;
        while ($line =~ /(?<![\w\/.-])(docs\/[\w\/.-]*?\.md)(,? "[^"]+"|,? [§#][\d.]+| G\d+| \[A\d\])?/g) {
            my ($doc, $cite) = ($1, $2);
            if (!-f $doc) { fail($at, "$doc does not exist"); next; }
            next unless defined $cite;
            my ($mark, $id) = $cite =~ /^,? ("|§|#|)\[?([^"]+?)[.\]]*"?$/;
            $id = "[$id]" if $cite =~ /\[A/;
            fail($at, "$doc has no section " . ($mark eq "\"" ? "\"$id\"" : "$mark$id")) unless has_section($doc, $mark, $id);
        }
        next unless $is_md;
        while ($line =~ /\]\(([^)\s]+)\)/g) {
            my $target = $1;
            next if $target =~ /^[a-z][a-z0-9+.-]*:/i;
            my ($path, $anchor) = $target =~ /^([^#]*)(?:#(.*))?$/;
            my $resolved = $path eq "" ? $file : File::Spec->canonpath(dirname($file) . "/" . $path);
            if (!-e $resolved) { fail($at, "link to $target: no such file"); next; }
            next unless defined $anchor && $resolved =~ /\.md$/;
            fail($at, "link to $target: no such heading in $resolved") unless anchors($resolved)->{lc $anchor};
        }
    }
}
print "$failures broken document reference(s)\n" if $failures;
exit($failures ? 1 : 0);
'
