/*
 * types.h - fixed-width types for code that builds three ways: the resident
 * core (freestanding), the UEFI loader (gnu-efi, which has its own typedefs)
 * and host unit tests (hosted libc).
 */
#ifndef HV_TYPES_H
#define HV_TYPES_H

#if defined(HV_HOST_TEST)
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#else
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long int64_t;
typedef unsigned long uintptr_t;
typedef unsigned long size_t;
typedef long intptr_t;
#ifndef __cplusplus
typedef _Bool bool;
#define true 1
#define false 0
#endif
#ifndef NULL
#define NULL ((void *)0)
#endif
#define offsetof(t, m) __builtin_offsetof(t, m)
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define BIT(n) (1ull << (n))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define PAGE_SIZE 4096ull
#define PAGE_2M (2ull << 20)
#define PAGE_1G (1ull << 30)
#define UNUSED __attribute__((unused))
#define NORETURN __attribute__((noreturn))
#define PACKED __attribute__((packed))

#endif
