/* test_config.c - hv.cfg and command-line parsing (boot/config.c). */
#include "htest.h"
#include "config.h"
#include "log.h"
#include <string.h>

static struct hv_config parse(const char *text)
{
	struct hv_config c;
	config_defaults(&c);
	config_parse(&c, text, strlen(text));
	return c;
}

TEST(config_defaults)
{
	struct hv_config c = parse("");
	CHECK(c.guest[0] == 0 && c.guest_args[0] == 0);
	CHECK_EQ(c.log_level, LOG_INFO);
	CHECK_EQ(c.serial_port, 0x3f8);
	CHECK_EQ(c.errors, 0);
}

TEST(config_file_keys)
{
	struct hv_config c = parse("# comment\r\n\n  guest = \\EFI\\linux\\vmlinuz.efi \r\n"
				   "guest_args=initrd=\\i.img console=ttyS0 a=b\nlog=debug\nserial=2f8\n");
	CHECK(!strcmp(c.guest, "\\EFI\\linux\\vmlinuz.efi"));
	CHECK(!strcmp(c.guest_args, "initrd=\\i.img console=ttyS0 a=b"));
	CHECK_EQ(c.log_level, LOG_DEBUG);
	CHECK_EQ(c.serial_port, 0x2f8);
	CHECK_EQ(c.errors, 0);
	c = parse("serial=none\nserial=0x3E8");
	CHECK_EQ(c.serial_port, 0x3e8);
	c = parse("serial=none");
	CHECK_EQ(c.serial_port, 0);
}

TEST(config_bad_lines)
{
	struct hv_config c = parse("bogus=1\nlog=loud\nserial=xyz\nserial=0\nnoequals\nguest=ok");
	CHECK_EQ(c.errors, 5);
	CHECK(!strcmp(c.guest, "ok"));
	CHECK(strstr(c.first_error, "unknown key") != NULL);
	CHECK_EQ(c.log_level, LOG_INFO);
	CHECK_EQ(c.serial_port, 0x3f8);
	char big[CFG_PATH_MAX + 16] = "guest=";
	memset(big + 6, 'a', CFG_PATH_MAX);
	big[6 + CFG_PATH_MAX] = 0;
	c = parse(big);
	CHECK_EQ(c.errors, 1);
	CHECK(c.guest[0] == 0);
}

TEST(config_nul_ends_text)
{
	const char text[] = "guest=a\0guest=b";
	struct hv_config c;
	config_defaults(&c);
	config_parse(&c, text, sizeof(text));
	CHECK(!strcmp(c.guest, "a"));
}

TEST(config_cmdline_overrides)
{
	struct hv_config c = parse("guest=file\nguest_args=x");
	const char *cl = "hv.efi guest=\\EFI\\other.efi; guest_args=console=ttyS0 quiet ;log=warn";
	CHECK_EQ(config_parse_cmdline(&c, cl, strlen(cl)), 0);
	CHECK(!strcmp(c.guest, "\\EFI\\other.efi"));
	CHECK(!strcmp(c.guest_args, "console=ttyS0 quiet"));
	CHECK_EQ(c.log_level, LOG_WARN);
	/* Without a program name, the first item is applied. */
	c = parse("");
	cl = "guest=x.efi";
	config_parse_cmdline(&c, cl, strlen(cl));
	CHECK(!strcmp(c.guest, "x.efi"));
	/* A bare program name is not an error. */
	c = parse("");
	cl = "  hv.efi  ";
	CHECK_EQ(config_parse_cmdline(&c, cl, strlen(cl)), 0);
}

/* nested=on|off (docs/nested.md): off by default. */
TEST(config_nested)
{
	struct hv_config c = parse("");
	CHECK(!c.nested);
	c = parse("nested=on");
	CHECK(c.nested);
	CHECK_EQ(c.errors, 0);
	c = parse("nested=on\nnested=off");
	CHECK(!c.nested);
	c = parse("nested=yes");
	CHECK(!c.nested);
	CHECK_EQ(c.errors, 1);
	c = parse("");
	config_parse_cmdline(&c, "hv.efi nested=on", 16);
	CHECK(c.nested);
}
