# cython: language_level=3, boundscheck=False, wraparound=False, binding=False
"""The compiled twin of the walker's common-layer path (``Walk._layer_chunk`` and the
keys it looks layer templates up by), the hot loop of ``hash_network``, and of its
structure pass (``walk.read_edges``).

``walk.py`` holds the reference: this file does the same steps in the same order with
typed locals and direct dict and tuple operations, and calls back into the walk for
everything that is not the common case (first sightings, misses, encodings). Both must
write the same bytes: tests/hashing/test_fastpath.py runs each against the record path,
tests/hashing/test_order.py compares the structure passes. Optional: without a compiler
the walk uses its Python ``_layer_chunk`` and ``read_edges``.
"""

from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.unicode cimport Py_UNICODE_ISDECIMAL
from libc.string cimport memcpy
import sys


cdef bint LITTLE_ENDIAN = sys.byteorder == "little"

cdef object _UNSET = object()
cdef bytes _TENSOR_REF_HEAD = b"\xd9\x74\x73\x82"  # tag 29811, array of 2


cpdef bint is_default_rest(str name, Py_ssize_t start, bint tensor):
    """Whether ``name[start:]`` is the rest of a TensorRT default name after its literal
    prefix (walk._DEFAULT_LAYER_NAME.rest, or _DEFAULT_TENSOR_NAME.rest if ``tensor``):
    ``\\d+\\) \\[[^\\]]*\\]``, for tensors followed by ``_output(?:_\\d+| \\(\\d+\\))?``."""
    cdef Py_ssize_t n = len(name)
    cdef Py_ssize_t i = start
    cdef Py_ssize_t first = i
    while i < n and Py_UNICODE_ISDECIMAL(name[i]):
        i += 1
    if i == first or i + 3 > n:
        return False
    if name[i] != u")" or name[i + 1] != u" " or name[i + 2] != u"[":
        return False
    i += 3
    while i < n and name[i] != u"]":
        i += 1
    if i >= n:
        return False
    i += 1
    if not tensor:
        return i == n
    if not name.startswith(u"_output", i):
        return False
    i += 7
    if i == n:
        return True
    if name[i] == u" ":  # "_output (k)": TopK's and NMS's further outputs
        if i + 1 >= n or name[i + 1] != u"(":
            return False
        i += 2
        first = i
        while i < n and Py_UNICODE_ISDECIMAL(name[i]):
            i += 1
        return i > first and i + 1 == n and name[i] == u")"
    if name[i] != u"_":
        return False
    i += 1
    first = i
    while i < n and Py_UNICODE_ISDECIMAL(name[i]):
        i += 1
    return i > first and i == n


cpdef bytes output_ref_bytes(unsigned long long layer, unsigned long long slot):
    """encode.output_ref_bytes: the bytes of TensorRef(layer=layer, slot=slot)."""
    cdef unsigned char buf[22]
    memcpy(buf, <const char*>_TENSOR_REF_HEAD, 4)
    cdef int size = 4
    size += _put_uint(buf + size, layer)
    size += _put_uint(buf + size, slot)
    return buf[:size]


def encode_refs(object outputs, list canonical, dict input_index, dict ref_bytes, object input_ref):
    """Walk._encode_refs: every layer output's and network input's encoded reference."""
    cdef Py_ssize_t i, j, start, stop
    cdef unsigned long long position
    cdef list flat = outputs.flat
    cdef list starts = outputs.starts
    cdef object tensor, key
    for i in range(len(starts) - 1):
        position = canonical[i]
        start = starts[i]
        stop = starts[i + 1]
        for j in range(stop - start):
            tensor = flat[start + j]
            if tensor is not None:
                key = id(tensor)
                if key not in ref_bytes:
                    ref_bytes[key] = output_ref_bytes(position, j)
    for key, k in input_index.items():
        ref_bytes[key] = input_ref(k)


def read_edges(
    list layers,
    dict producer,
    dict input_index,
    object inputs,
    object outputs,
):
    """walk.read_edges: every layer's inputs and outputs, the outputs' producers, and
    whether the insertion order is topological."""
    cdef list in_flat = inputs.flat, in_starts = inputs.starts
    cdef list out_flat = outputs.flat, out_starts = outputs.starts
    cdef bint forward = True
    cdef Py_ssize_t i, j, s, count
    cdef object layer, tensor, key, get_input, get_output
    count = len(layers)
    for i in range(count):
        layer = layers[i]
        get_input = layer.get_input
        for s in range(<Py_ssize_t>layer.num_inputs):
            tensor = get_input(s)
            in_flat.append(tensor)
            if forward and tensor is not None:
                key = id(tensor)
                forward = key in producer or key in input_index
        in_starts.append(len(in_flat))
        get_output = layer.get_output
        for j in range(<Py_ssize_t>layer.num_outputs):
            tensor = get_output(j)
            out_flat.append(tensor)
            if tensor is not None:
                key = id(tensor)
                if key not in producer:
                    producer[key] = (i, j)
        out_starts.append(len(out_flat))
    return forward


cpdef bytes uint_head(int major, unsigned long long n):
    """canonical.head: a CBOR data item's initial bytes, argument in shortest form."""
    cdef unsigned char buf[9]
    cdef int size = _put_uint(buf, n)
    buf[0] |= <unsigned char>(major << 5)
    return buf[:size]


cdef bytes text_bytes(str text):
    """canonical.encode_text without its memo (most layer names occur once in a walk)."""
    cdef bytes data = text.encode("utf-8")
    return uint_head(3, len(data)) + data


cdef int _put_uint(unsigned char* buf, unsigned long long n):
    """Write canonical.head(0, n) at ``buf``; returns its length."""
    cdef int size, k
    if n < 24:
        buf[0] = <unsigned char>n
        return 1
    if n < 0x100:
        buf[0] = 24
        size = 1
    elif n < 0x10000:
        buf[0] = 25
        size = 2
    elif n < 0x100000000:
        buf[0] = 26
        size = 4
    else:
        buf[0] = 27
        size = 8
    for k in range(size):
        buf[size - k] = <unsigned char>((n >> (8 * k)) & 0xFF)
    return size + 1


cdef class LayerWriter:
    """Writes common layers' records for one walk (see Walk._layer_chunk)."""

    cdef object walk
    cdef list issues, pending
    cdef dict simple_plans, layer_types, templates, unsafe_positions, is_sequence, ref_bytes
    cdef dict plan_parts, tensor_parts, kinds, array_keys
    cdef object ndarray, little_endian_bytes
    cdef object tensor_plan, is_debug, canon
    cdef str layer_prefix, tensor_prefix
    cdef Py_ssize_t layer_start, tensor_start
    cdef tuple layout_template
    cdef int field_order[6]
    cdef bytes null

    def __init__(
        self,
        walk,
        *,
        tensor_plan,
        layer_default,
        tensor_default,
        layout,
        ndarray,
        little_endian_bytes,
        null,
    ):
        self.walk = walk
        self.issues = walk.issues
        self.pending = walk._pending_constructs
        self.simple_plans = walk._simple_plans
        self.layer_types = walk._layer_types
        self.templates = walk._templates
        self.unsafe_positions = walk._unsafe_positions
        self.is_sequence = walk._is_sequence
        self.ref_bytes = walk._ref_bytes
        self.is_debug = walk._is_debug
        self.canon = walk.canon
        self.tensor_plan = tensor_plan
        self.plan_parts = {}
        self.tensor_parts = {}
        self.kinds = {}
        self.array_keys = {}
        self.ndarray = ndarray
        self.little_endian_bytes = little_endian_bytes
        self.layer_prefix = layer_default.prefix
        self.layer_start = len(self.layer_prefix)
        self.tensor_prefix = tensor_default.prefix
        self.tensor_start = len(self.tensor_prefix)
        if layout.names != ("index", "type", "name", "inputs", "outputs", "attrs"):
            raise ValueError(f"LayerWriter writes Walk's layer fields, not {layout.names!r}")
        self.layout_template = layout.template
        for k in range(6):
            self.field_order[k] = layout.order[k]
        self.null = null

    def chunks(
        self,
        Py_ssize_t start,
        Py_ssize_t stop,
        list order,
        list layers,
        list types,
        object inputs,
        object outputs,
    ):
        """Walk._layer_chunks: the bytes of the layer records at positions start..stop."""
        cdef list parts = []
        cdef Py_ssize_t position, i
        cdef object chunk
        cdef list ins_flat = inputs.flat, outs_flat = outputs.flat
        cdef list ins_starts = inputs.starts, outs_starts = outputs.starts
        cdef list ins, outs
        for position in range(start, stop):
            i = order[position]
            ins = ins_flat[<Py_ssize_t>ins_starts[i] : <Py_ssize_t>ins_starts[i + 1]]
            outs = outs_flat[<Py_ssize_t>outs_starts[i] : <Py_ssize_t>outs_starts[i + 1]]
            chunk = self.chunk(position, layers[i], types[i], ins, outs)
            if chunk is None:
                chunk = self.walk._layer_record_bytes(position, layers[i], types[i], ins, outs)
            if self.pending:
                parts.extend(self.walk._construct_record_bytes())
            parts.append(chunk)
        return b"".join(parts)

    cpdef object chunk(self, Py_ssize_t position, object layer, object layer_type, list ins, list outs):
        """Walk._layer_chunk: the layer's record bytes, or None for the general path."""
        cdef object cls = type(layer)
        cdef object parts = self.plan_parts.get(cls, _UNSET)
        cdef object plan
        if parts is _UNSET:
            plan = self.simple_plans.get(cls, _UNSET)
            if plan is _UNSET:
                plan = self.walk._simple_plan_of(cls)
            # the plan, its reader and rule slots, and the last LayerType seen with its
            # encoding: the same object needs no lookup (hashing an enum may be Python)
            parts = None if plan is None else [plan, plan.read_all, plan.rule_slots, _UNSET, None]
            self.plan_parts[cls] = parts
        if parts is None:
            return None
        cdef object type_bytes
        if layer_type is (<list>parts)[3]:
            type_bytes = (<list>parts)[4]
        else:
            type_bytes = self.layer_types.get(layer_type, _UNSET)
            if type_bytes is _UNSET:
                type_bytes = self.walk._layer_type_of(layer_type)
            (<list>parts)[3] = layer_type
            (<list>parts)[4] = type_bytes
        if type_bytes is None:
            return None
        plan = (<list>parts)[0]
        cdef object read_all = (<list>parts)[1]
        cdef tuple rule_slots = (<list>parts)[2]
        cdef Py_ssize_t mark = len(self.issues)
        cdef Py_ssize_t j
        cdef object name, raw, is_set, output_type, template, t, found
        cdef list refs, holes, pieces
        cdef tuple slot_pair
        cdef object attrs
        cdef tuple template_key
        try:
            name = layer.name
            if type(name) is not str:
                return None
            raw = read_all(layer)
            template_key = PyTuple_New(2 + len(outs))
            found = type_bytes
            Py_INCREF(found)
            PyTuple_SET_ITEM(template_key, 0, found)
            holes = []
            found = self.values_key(plan, <tuple?>raw, ins, rule_slots, holes)
            Py_INCREF(found)
            PyTuple_SET_ITEM(template_key, 1, found)
            is_set = layer.output_type_is_set
            for j in range(len(outs)):
                output_type = self.canon(layer.get_output_type(j)) if is_set(j) else None
                found = self.tensor_key(outs[j], output_type)
                Py_INCREF(found)
                PyTuple_SET_ITEM(template_key, 2 + j, found)
            template = self.templates.get(template_key)
            if template is None:
                template = self.walk._layer_template(
                    layer, plan, raw, ins, outs, holes, template_key[2:]
                )
                self.templates[template_key] = template
            refs = []
            for t in ins:
                if t is None:
                    refs.append(self.null)
                    continue
                found = self.ref_bytes.get(id(t))
                if found is None:
                    found = self.walk._ref_chunk(t)
                refs.append(found)
        except Exception:  # the general path reads it again and reports what went wrong
            del self.issues[mark:]
            return None
        if len(self.issues) != mark:
            del self.issues[mark:]
            return None
        cdef str text = <str>name
        cdef object name_bytes
        if text.startswith(self.layer_prefix) and is_default_rest(text, self.layer_start, False):
            name_bytes = self.null
        else:
            name_bytes = text_bytes(text)
        attrs = (<tuple>template)[0]
        if type(attrs) is not bytes:  # Walk._fill_holes
            pieces = list((<tuple>attrs)[0])
            for slot_pair in (<tuple>attrs)[1]:
                pieces[<Py_ssize_t>slot_pair[0]] = (<tuple>holes[<Py_ssize_t>slot_pair[1]])[1]
            attrs = b"".join(pieces)
        # the record's parts in canonical order: each field's key, then its bytes
        cdef list record = [self.layout_template[0]]
        cdef Py_ssize_t k
        cdef int field
        for k in range(6):
            record.append(self.layout_template[2 * k + 1])
            field = self.field_order[k]
            if field == 0:  # index
                record.append(uint_head(0, position))
            elif field == 1:  # type
                record.append(type_bytes)
            elif field == 2:  # name
                record.append(name_bytes)
            elif field == 3:  # inputs
                record.append(uint_head(4, len(refs)))
                record.extend(refs)
            elif field == 4:  # outputs
                record.append((<tuple>template)[1])
            else:  # attrs
                record.append(attrs)
        record.append(self.layout_template[13])
        return b"".join(record)

    cdef tuple tensor_key(self, object tensor, object output_type):
        """Walk._tensor_key."""
        cdef object cls = type(tensor)
        cdef object parts = self.tensor_parts.get(cls)
        if parts is None:
            plan = self.tensor_plan(cls)
            parts = (plan, plan.read_all, plan.shape_index)
            self.tensor_parts[cls] = parts
        cdef object plan_ = (<tuple>parts)[0]
        cdef object name = tensor.name
        cdef tuple raw = <tuple?>((<tuple>parts)[1](tensor))
        cdef Py_ssize_t rank = len(raw[(<tuple>parts)[2]])
        cdef Py_ssize_t d
        cdef object get_dimension_name = tensor.get_dimension_name
        cdef tuple dim_names = tuple([get_dimension_name(d) for d in range(rank)])
        cdef object debug = None
        if self.is_debug is not None:
            debug = bool(self.is_debug(tensor))
        if type(name) is not str or (
            (<str>name).startswith(self.tensor_prefix)
            and is_default_rest(<str>name, self.tensor_start, True)
        ):
            name = None
        return (self.values_key(plan_, raw, None, (), None), name, dim_names, debug, output_type)

    cdef tuple values_key(
        self, object plan, tuple raw, object inputs, tuple rule_slots, object holes
    ):
        """Walk._values_key (with no canonical forms to keep). The values' types stand in
        the key as a number given to each distinct tuple of types in this walk, and
        TensorRT enums as their ints (their canonical form is decided by type and int,
        Walk._enum): the int of the last enum object seen at each position is kept, so the
        same object costs no call, and the key hashes without the enum's own __hash__."""
        cdef Py_ssize_t i, k, count
        cdef Py_ssize_t size = len(raw)
        cdef tuple types = PyTuple_New(size)
        cdef object kind_of
        for i in range(size):
            kind_of = type(raw[i])
            Py_INCREF(kind_of)
            PyTuple_SET_ITEM(types, i, kind_of)
        cdef object kinds = self.kinds.get(types)
        if kinds is None:
            unsafe = self.unsafe_positions.get(types)
            if unsafe is None:
                unsafe = self.walk._unsafe_of(types)
            enums = self.walk._enum_positions(types)
            # (unsafe positions, number, enum positions, last (object, int) per enum position)
            kinds = (unsafe, len(self.kinds), enums, [_UNSET, None] * len(enums))
            self.kinds[types] = kinds
        cdef tuple unsafe_positions = (<tuple>kinds)[0]
        cdef tuple enum_positions = (<tuple>kinds)[2]
        cdef list last = (<tuple>kinds)[3]
        cdef list values
        cdef object value, kind, sequence, frozen, x, array_key
        cdef tuple items
        cdef bint ints
        cdef double bits
        cdef unsigned long long word
        if unsafe_positions or enum_positions:
            values = list(raw)
            for k in range(len(enum_positions)):
                i = enum_positions[k]
                value = raw[i]
                if value is not last[2 * k]:
                    last[2 * k + 1] = int(value)
                    last[2 * k] = value
                values[i] = last[2 * k + 1]
            for i in unsafe_positions:
                value = raw[i]
                kind = types[i]
                frozen = None
                if kind is self.ndarray:  # weights (Walk._frozen): the policy's decision for
                    # this property, dtype and count is remembered; hashed values are read
                    array_key = (plan, i, value.dtype, value.size)
                    frozen = self.array_keys.get(array_key)
                    if frozen is None:
                        frozen = self.walk._frozen(value, kind, plan, i, None)
                        self.array_keys[array_key] = frozen if (<tuple>frozen)[3] is None else True
                    elif frozen is True:
                        if LITTLE_ENDIAN and value.dtype.isnative and value.flags.c_contiguous:
                            frozen = ("array", value.dtype, value.size, value.tobytes())
                        else:
                            frozen = ("array", value.dtype, value.size, self.little_endian_bytes(value))
                    values[i] = frozen
                    continue
                if kind is float:  # its bits: equal bits, equal encoding (0.0 and -0.0 differ)
                    bits = <double>value
                    memcpy(&word, &bits, 8)
                    values[i] = ("float", word)
                    continue
                sequence = self.is_sequence.get(kind)
                if sequence is None:
                    sequence = self.walk._sequence_kind(kind)
                if sequence:
                    items = tuple([x for x in value])  # tuple(value) would also ask its length
                    ints = True
                    for x in items:
                        if type(x) is not int:
                            ints = False
                            break
                    if ints:
                        frozen = ("ints", items)
                if frozen is None:
                    frozen = self.walk._frozen(value, kind, plan, i, None, holes)
                values[i] = frozen
            raw = tuple(values)
        if rule_slots:
            count = 0 if inputs is None else len(inputs)
            return (
                plan,
                (<tuple>kinds)[1],
                raw,
                tuple([k < count and inputs[k] is not None for k in rule_slots]),
            )
        return (plan, (<tuple>kinds)[1], raw)
