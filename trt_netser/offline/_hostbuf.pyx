# cython: language_level=3
"""Compiled base of IHostMemory: a read-only byte buffer with the buffer protocol.

Python 3.11 has no ``__buffer__``, so a pure-Python class cannot be passed to
``file.write``, ``memoryview`` or ``numpy.frombuffer``; this tiny extension type can.
Without a compiler, :mod:`trt_netser.offline._hostmem` falls back to ``__buffer__``
(Python 3.12+) and ``__bytes__``.
"""

from cpython.buffer cimport PyBuffer_FillInfo


cdef class HostBuffer:
    """Read-only bytes exposed through the buffer protocol."""

    cdef bytes _data

    def __cinit__(self, bytes data=b""):
        self._data = data

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        PyBuffer_FillInfo(buffer, self, <char *>self._data, len(self._data), 1, flags)

    def __releasebuffer__(self, Py_buffer *buffer):
        pass

    def _bytes(self):
        return self._data
