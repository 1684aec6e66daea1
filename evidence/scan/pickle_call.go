package scan

import (
	"fmt"
	"unicode/utf8"
)

// stepCall handles the opcodes that import globals and call or build objects.
func (d *decoder) stepCall(op byte, opStart int64) (done, handled bool) {
	switch op {
	case opGlobal:
		return d.global(opStart), true
	case opInst:
		return d.inst(opStart), true
	case opStackGlobal:
		d.stackGlobal(opStart)
	case opObj:
		d.obj(opStart)
	case opReduce:
		args := d.pop(op, opStart)
		callable := d.pop(op, opStart)
		d.checkCallable(callable, op, opStart)
		d.push(newObject(effectiveClass(callable, args), args))
	case opNewObj:
		args := d.pop(op, opStart)
		class := d.pop(op, opStart)
		d.checkCallable(class, op, opStart)
		d.push(newObject(class, args))
	case opNewObjEx:
		d.pop(op, opStart) // keyword arguments
		args := d.pop(op, opStart)
		class := d.pop(op, opStart)
		d.checkCallable(class, op, opStart)
		d.push(newObject(class, args))
	case opBuild:
		return d.build(opStart), true
	case opExt1, opExt2, opExt4:
		return d.ext(op, opStart), true
	default:
		return false, false
	}
	return false, true
}

// globalLines reads the "module\nname\n" argument of GLOBAL and INST.
func (d *decoder) globalLines(op byte, opStart int64) (module, name string, ok bool) {
	first, longModule, ok := d.r.line()
	if !ok {
		return "", "", false
	}
	module = string(first)
	second, longName, ok := d.r.line()
	if !ok {
		return "", "", false
	}
	name = string(second)
	if longModule || longName {
		d.out.structure(Warning, KindPickleUnresolvedGlobal, opStart,
			"%s module or name is longer than %d bytes", opcodeName(op), maxKeptBytes)
		return "", "", true
	}
	return module, name, true
}

func (d *decoder) global(opStart int64) bool {
	module, name, ok := d.globalLines(opGlobal, opStart)
	if !ok {
		return d.truncated(opGlobal, opStart)
	}
	d.reportGlobal(module, name, opGlobal, opStart)
	d.push(newGlobal(module, name))
	return false
}

func (d *decoder) inst(opStart int64) bool {
	module, name, ok := d.globalLines(opInst, opStart)
	if !ok {
		return d.truncated(opInst, opStart)
	}
	d.reportGlobal(module, name, opInst, opStart)
	items, _ := d.popMark(opInst, opStart)
	d.push(newObject(newGlobal(module, name), newContainer(kindTuple, items)))
	return false
}

// stackGlobal resolves STACK_GLOBAL from the two str values below it, which
// may have come from the memo.
func (d *decoder) stackGlobal(opStart int64) {
	if !d.tracking {
		d.out.structure(Warning, KindPickleUnresolvedGlobal, opStart,
			"STACK_GLOBAL after the decoder stopped tracking values")
		return
	}
	name := d.pop(opStackGlobal, opStart)
	module := d.pop(opStackGlobal, opStart)
	if !module.isString() || !name.isString() {
		d.out.structure(Warning, KindPickleUnresolvedGlobal, opStart,
			"STACK_GLOBAL operands are %s and %s, not two str values", describeValue(module), describeValue(name))
		d.push(value{})
		return
	}
	d.reportGlobal(module.text, name.text, opStackGlobal, opStart)
	d.push(newGlobal(module.text, name.text))
}

func (d *decoder) obj(opStart int64) {
	items, ok := d.popMark(opObj, opStart)
	if !ok {
		if !d.tracking {
			d.out.structure(Warning, KindPickleUnresolvedCallable, opStart, "OBJ after the decoder stopped tracking values")
		}
		d.push(value{})
		return
	}
	if len(items) == 0 {
		d.underflow(opObj, opStart, "no class above the MARK")
		d.push(value{})
		return
	}
	d.checkCallable(items[0], opObj, opStart)
	d.push(newObject(items[0], newContainer(kindTuple, items[1:])))
}

// build applies BUILD's state to the object below it. After the BUILD of a
// joblib NumpyArrayWrapper, joblib writes the array bytes into the stream, so
// they are skipped here.
func (d *decoder) build(opStart int64) bool {
	state := d.pop(opBuild, opStart)
	target := d.peek(opBuild, opStart)
	if target.kind != kindObject {
		return false
	}
	target.node.state = state
	if isNumpyArrayWrapper(target.node.class) {
		d.result.joblib = true
		return d.skipJoblibArray(state, opStart)
	}
	return false
}

// checkCallable reports a call whose callable is not a resolved global.
// Picklers always write the callable of REDUCE, NEWOBJ and OBJ as a global.
func (d *decoder) checkCallable(callable value, op byte, opStart int64) {
	if !d.tracking || callable.kind == kindGlobal {
		return
	}
	d.out.structure(Warning, KindPickleUnresolvedCallable, opStart,
		"%s calls %s, not an imported global", opcodeName(op), describeValue(callable))
}

// effectiveClass returns the class that a REDUCE creates: the first argument
// of copyreg._reconstructor and copyreg.__newobj__, else the callable.
func effectiveClass(callable, args value) value {
	if callable.isGlobal("copyreg", "_reconstructor") || callable.isGlobal("copy_reg", "_reconstructor") ||
		callable.isGlobal("copyreg", "__newobj__") || callable.isGlobal("copy_reg", "__newobj__") {
		if items, ok := args.tupleItems(); ok && len(items) > 0 {
			return items[0]
		}
	}
	return callable
}

func (d *decoder) reportGlobal(module, name string, op byte, opStart int64) {
	if module == "" && name == "" {
		return
	}
	severity, reason := classifyGlobal(module, name)
	detail := fmt.Sprintf("%s: %s", opcodeName(op), reason)
	if !utf8.ValidString(module) || !utf8.ValidString(name) {
		detail += " (module or name is not valid UTF-8, so CPython rejects it)"
	}
	d.out.add(Finding{Severity: severity, Kind: KindGlobal, Module: module, Name: name, Offset: opStart, Detail: detail})
}

func describeValue(v value) string {
	names := [...]string{
		kindUnknown: "an unresolved value", kindNone: "None", kindBool: "a bool", kindInt: "an int",
		kindBigInt: "an int", kindFloat: "a float", kindStr: "a str", kindBytes: "a bytes value",
		kindTuple: "a tuple", kindList: "a list", kindDict: "a dict", kindSet: "a set",
		kindGlobal: "a global", kindObject: "the result of a call", kindPersistent: "a persistent object",
		kindBuffer: "an out-of-band buffer",
	}
	if v.kind == kindStr && v.long {
		return fmt.Sprintf("a str longer than %d bytes", maxKeptBytes)
	}
	if int(v.kind) < len(names) {
		return names[v.kind]
	}
	return "an unresolved value"
}
