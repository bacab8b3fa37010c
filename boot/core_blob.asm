; core_blob.asm - the resident core (build/core.bin, linked at CORE_VBASE)
; embedded in the loader. The loader copies it into reserved memory.
bits 64
section .rodata
align 4096
global core_blob_start
global core_blob_end
core_blob_start:
	incbin "core.bin"
core_blob_end:

section .note.GNU-stack noalloc noexec nowrite progbits
