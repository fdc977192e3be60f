# The libFuzzer harnesses, built with clang out of tree (GNU make):
#   make -f fuzz/fuzz.mk -C build-fuzz top=/path/to/h2gate
# tools/fuzz runs this.  The core (src/libcore.a's sources, read from
# Makefile.am so the list is kept in one place) and llhttp are compiled
# again with the fuzzer's coverage instrumentation and ASan + UBSan.
top ?= ..
CC = clang
LLHTTP_DIR ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp
PKGS = yaml-0.1 libnghttp2

SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The flags of configure's --enable-werror, for our own code only.
WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Werror
CFLAGS = -g -O1 -fsanitize=fuzzer-no-link $(SAN) -DH2G_FUZZ_LIBFUZZER \
	-I$(top)/src -I$(top)/fuzz -I$(LLHTTP_INC) $(shell pkg-config --cflags $(PKGS))
LDFLAGS = -fsanitize=fuzzer $(SAN)
LIBS = $(shell pkg-config --libs $(PKGS))

CORE_SRCS := $(filter %.c,$(shell sed -n '/^src_libcore_a_SOURCES =/,/[^\\]$$/p' $(top)/Makefile.am))
CORE_OBJS := $(patsubst src/%.c,core/%.o,$(CORE_SRCS))
LLHTTP_OBJS := llhttp/llhttp.o llhttp/api.o llhttp/http.o

HARNESSES = h1_request h1_response config parsers path h2_to_h1 proxy_proto
all: $(addprefix fuzz_,$(HARNESSES))

# Harness name -> its objects (h1_drive.c is shared by the two h1 ones).
fuzz_h1_request: obj/h1_request.o obj/h1_drive.o
fuzz_h1_response: obj/h1_response.o obj/h1_drive.o
fuzz_config: obj/config.o
fuzz_parsers: obj/parsers.o
fuzz_path: obj/path.o
fuzz_h2_to_h1: obj/h2_to_h1.o
fuzz_proxy_proto: obj/proxy_proto.o

$(addprefix fuzz_,$(HARNESSES)): $(CORE_OBJS) $(LLHTTP_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The session harness links the daemon's glue too: src/h2gate's sources
# (read from Makefile.am) but main.c, compiled as configure compiles them
# (_GNU_SOURCE from AC_USE_SYSTEM_EXTENSIONS, PACKAGE_VERSION from
# AC_INIT), against the daemon's libraries.
DAEMON_PKGS = libevent_core libevent_extra libevent_openssl libevent_pthreads libssl libcrypto jansson libsystemd
DAEMON_SRCS := $(filter-out src/process/main.c,$(filter %.c,$(shell sed -n '/^src_h2gate_SOURCES =/,/[^\\]$$/p' $(top)/Makefile.am)))
DAEMON_OBJS := $(patsubst src/%.c,daemon/%.o,$(DAEMON_SRCS))
DAEMON_VERSION := $(shell sed -n 's/^AC_INIT.\[h2gate\], \[\([^]]*\)\].*/\1/p' $(top)/configure.ac)
DAEMON_CFLAGS = -D_GNU_SOURCE -DPACKAGE_VERSION='"$(DAEMON_VERSION)"' $(shell pkg-config --cflags $(DAEMON_PKGS))

# The record layer of handed-off TLS connections, with libevent's
# evbuffers and OpenSSL's ciphers.
all: fuzz_tls_record
fuzz_tls_record: obj/tls_record.o daemon/edge/tls_record.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libevent_core libssl libcrypto)

all: fuzz_h2_session
fuzz_h2_session: obj/h2_session.o $(DAEMON_OBJS) $(CORE_OBJS) $(LLHTTP_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs $(DAEMON_PKGS)) -lpthread

obj/h2_session.o: $(top)/fuzz/h2_session.c
	@mkdir -p obj
	$(CC) $(CFLAGS) $(DAEMON_CFLAGS) $(WARN) -MMD -MP -c -o $@ $<
daemon/%.o: $(top)/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DAEMON_CFLAGS) -Igen $(WARN) -MMD -MP -c -o $@ $<

# The status page, compiled in as Makefile.am does it.
daemon/process/metrics.o: gen/process/status_page.h
gen/process/status_page.h: $(top)/src/process/status_page.html $(top)/tools/embed
	@mkdir -p $(dir $@)
	sh $(top)/tools/embed $< status_page_html >$@.tmp && mv $@.tmp $@

core/%.o: $(top)/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

obj/%.o: $(top)/fuzz/%.c
	@mkdir -p obj
	$(CC) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

# Generated code we do not own: no warning flags (as in Makefile.am).
llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p llhttp
	$(CC) $(CFLAGS) -DLLHTTP_STRICT_MODE=1 -MMD -MP -c -o $@ $<

-include $(wildcard core/*/*.d obj/*.d llhttp/*.d daemon/*/*.d)

.PHONY: all
