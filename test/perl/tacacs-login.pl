#!/usr/bin/perl
# One login with Debian's Authen::TacacsPlus, an independent TACACS+ client, against a server under test.
# Usage: tacacs-login.pl HOST PORT KEY ascii|pap|chap USER PASSWORD
# Prints one line: "PASS", "DENY <errmsg>" or "NOCONNECT <errmsg>". For CHAP the module expects the caller to
# send id . challenge . MD5(id . password . challenge) as the "password" (its POD), so this script computes it.
use strict;
use warnings;
use Authen::TacacsPlus;
use Digest::MD5 qw(md5);

die "usage: $0 HOST PORT KEY ascii|pap|chap USER PASSWORD\n" unless @ARGV == 6;
my ($host, $port, $key, $type, $user, $password) = @ARGV;
$| = 1;

my %types = (
    ascii => Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_ASCII(),
    pap   => Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_PAP(),
    chap  => Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_CHAP(),
);
die "unknown type $type\n" unless exists $types{$type};

my $tac = Authen::TacacsPlus->new(Host => $host, Port => $port, Key => $key, Timeout => 5);
unless ($tac) {
    print 'NOCONNECT ', Authen::TacacsPlus::errmsg(), "\n";
    exit 0;
}
my $secret = $password;
if ($type eq 'chap') {
    my $id = chr(int(rand(256)));
    my $challenge = join '', map { chr(int(rand(256))) } 1 .. 16;
    $secret = $id . $challenge . md5($id . $password . $challenge);
}
my $granted = $tac->authen($user, $secret, $types{$type});
print $granted ? "PASS\n" : 'DENY ' . Authen::TacacsPlus::errmsg() . "\n";
$tac->close();
