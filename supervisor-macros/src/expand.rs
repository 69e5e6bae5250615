//! Code generation for `#[supervised]`: checks the fn's signature, then
//! emits a unit struct named like the fn, with the fn's body as a private
//! associated fn, and its `Task` and `Supervised` impls.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use std::time::Duration;
use supervisor_spec::{ChildSpec, OnExhausted, Readiness, Restart, Shutdown};
use syn::spanned::Spanned;
use syn::{FnArg, Item, ItemFn, ReturnType, Safety};

use crate::{attr, validate};

/// Expands one use of the attribute. On error, returns the errors next to
/// the original item: expanded as if the arguments were empty when only the
/// arguments are wrong (so uses of the fn elsewhere still type-check and
/// the only errors are the macro's), as written when the fn itself is not
/// one the macro can expand.
pub(crate) fn supervised(args: TokenStream, item: TokenStream) -> TokenStream {
    let f = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(f)) => f,
        Ok(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "`#[supervised]` goes on an `async fn` that takes a `TaskContext`",
            );
            return with_errors(e, item);
        }
        Err(e) => return with_errors(e, item),
    };
    let spec =
        attr::Config::parse(args).and_then(|config| validate::child_spec(&config, &f.sig.ident));
    match (spec, signature(&f)) {
        (Ok(spec), Ok(())) => match child_spec(&spec) {
            Ok(body) => expand(&f, body),
            Err(e) => with_errors(e, expand(&f, unreachable())),
        },
        (Err(e), Ok(())) => with_errors(e, expand(&f, unreachable())),
        (Ok(_), Err(e)) => with_errors(e, item),
        (Err(mut e), Err(sig)) => {
            e.combine(sig);
            with_errors(e, item)
        }
    }
}

fn with_errors(errors: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = errors.into_compile_error();
    out.extend(item);
    out
}

/// The body of `child_spec` in code that does not compile anyway.
fn unreachable() -> TokenStream {
    quote!(::core::unreachable!(
        "#[supervised] reported a compile error"
    ))
}

/// Checks that the fn is one the runtime can start: `async`, not generic,
/// one argument (its `TaskContext`), a return type. Every problem is
/// reported, each at its token.
fn signature(f: &ItemFn) -> syn::Result<()> {
    let sig = &f.sig;
    let mut errors = Vec::new();
    if let Err(e) = f.modifiers.require_empty() {
        errors.push(e);
    }
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new(
            c.span(),
            "a `#[supervised]` fn cannot be `const`",
        ));
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span(),
            "`#[supervised]` needs an `async fn`: the runtime runs the fn's future as the child's task",
        ));
    }
    if let Safety::Unsafe(u) = &sig.safety {
        errors.push(syn::Error::new(
            u.span(),
            "a `#[supervised]` fn cannot be `unsafe`: the runtime calls it and cannot uphold its contract",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "a `#[supervised]` fn cannot have an ABI",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a `#[supervised]` fn cannot be generic: the runtime starts it with a `TaskContext` and nothing else",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            v,
            "a `#[supervised]` fn cannot be variadic",
        ));
    }
    match sig.inputs.first() {
        None => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "a `#[supervised]` fn takes one argument, its context: `ctx: TaskContext`",
        )),
        Some(FnArg::Receiver(r)) => errors.push(syn::Error::new_spanned(
            r,
            "a `#[supervised]` fn cannot take `self`; it takes one argument, its context: `ctx: TaskContext`",
        )),
        Some(FnArg::Typed(_)) => {}
    }
    if sig.inputs.len() > 1 {
        let extra: TokenStream = sig
            .inputs
            .iter()
            .skip(1)
            .map(ToTokens::to_token_stream)
            .collect();
        errors.push(syn::Error::new_spanned(
            extra,
            "a `#[supervised]` fn takes exactly one argument, its `TaskContext`; a task with state of its own implements `Task` and `Supervised` by hand",
        ));
    }
    if let ReturnType::Default = sig.output {
        errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            "a `#[supervised]` fn returns `Result<(), E>`, so that a failure can be told from a normal end: add `-> Result<(), E>`",
        ));
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// The expansion of a fn that passed [`signature`], with `child_spec` as
/// the body of its `Supervised::child_spec`.
fn expand(f: &ItemFn, child_spec: TokenStream) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = f;
    let name = &sig.ident;
    // Docs and lint levels go on the struct (the public face of the fn),
    // `cfg`s on everything emitted, everything else (and lint levels too)
    // on the fn that keeps the body.
    let is = |a: &syn::Attribute, name: &str| a.path().is_ident(name);
    let cfgs: Vec<_> = attrs.iter().filter(|a| is(a, "cfg")).collect();
    let on_struct = attrs
        .iter()
        .filter(|a| is(a, "doc") || is(a, "cfg") || is(a, "allow"));
    let on_fn = attrs.iter().filter(|a| !is(a, "doc") && !is(a, "cfg"));
    let rt = quote!(::supervisor_runtime);
    // The call and the boxing carry the spans of the argument's and the
    // return type, so that a wrong type is reported where it was written.
    let arg_span = match sig.inputs.first() {
        Some(FnArg::Typed(t)) => t.ty.span(),
        _ => Span::call_site(),
    };
    let ret_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    let call = quote_spanned!(arg_span=> Self::#name(ctx));
    let boxed = quote_spanned!(ret_span=> #rt::__private::boxed(future));
    quote! {
        #(#on_struct)*
        #[allow(non_camel_case_types)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #name;

        #(#cfgs)*
        impl #name {
            #(#on_fn)*
            #sig #block
        }

        #(#cfgs)*
        impl #rt::Task for #name {
            fn start(&self, ctx: #rt::TaskContext) -> #rt::BoxFuture {
                let future = #call;
                #boxed
            }
        }

        #(#cfgs)*
        impl #rt::Supervised for #name {
            fn child_spec(&self) -> #rt::__private::ChildSpec {
                #child_spec
            }
        }
    }
}

/// An expression that builds `spec` again at run time through the
/// runtime's `__private` re-exports, field by field, so that the child the
/// runtime gets is the one validated at compile time.
fn child_spec(spec: &ChildSpec) -> syn::Result<TokenStream> {
    let p = quote!(::supervisor_runtime::__private);
    let id = spec.id.as_str();
    let task = spec.task().map_or(id, |t| t.as_str());
    let deps = spec.depends_on.iter().map(|d| d.as_str());
    let mut out = quote!(#p::worker(#id, #task, &[#(#deps),*]));
    if let Some(d) = &spec.description {
        out.extend(quote!(.with_description(#d)));
    }
    let restart = match spec.restart {
        Restart::Permanent => quote!(Permanent),
        Restart::Transient => quote!(Transient),
        Restart::Temporary => quote!(Temporary),
    };
    let significant = spec.significant;
    let shutdown = match spec.shutdown {
        Shutdown::Graceful {
            timeout,
            abort_wait,
        } => {
            let (t, w) = (duration(timeout), duration(abort_wait));
            quote!(#p::Shutdown::Graceful { timeout: #t, abort_wait: #w })
        }
        Shutdown::BrutalKill { abort_wait } => {
            let w = duration(abort_wait);
            quote!(#p::Shutdown::BrutalKill { abort_wait: #w })
        }
        Shutdown::Infinity => quote!(#p::Shutdown::Infinity),
        other => return Err(unsupported(format_args!("shutdown {other:?}"))),
    };
    let b = &spec.backoff;
    let (initial, max, reset_after) = (
        duration(b.initial),
        duration(b.max),
        duration(b.reset_after),
    );
    let (multiplier, jitter) = (float(b.multiplier)?, float(b.jitter)?);
    let readiness = match spec.readiness {
        Readiness::Immediate => quote!(#p::Readiness::Immediate),
        Readiness::Explicit { timeout } => {
            let t = duration(timeout);
            quote!(#p::Readiness::explicit(#t))
        }
        other => return Err(unsupported(format_args!("readiness {other:?}"))),
    };
    out.extend(quote! {
        .with_restart(#p::Restart::#restart)
        .with_significant(#significant)
        .with_shutdown(#shutdown)
        .with_backoff(
            #p::Backoff::exponential(#initial, #max)
                .with_multiplier(#multiplier)
                .with_jitter(#jitter)
                .with_reset_after(#reset_after)
        )
        .with_readiness(#readiness)
    });
    if let Some(budget) = spec.budget {
        let (n, window) = (budget.max_restarts, duration(budget.window));
        let mut b = quote!(#p::Budget::new(#n, #window));
        match budget.on_exhausted {
            OnExhausted::Escalate => {}
            OnExhausted::Quarantine { retry_after } => {
                let retry = match retry_after {
                    Some(d) => {
                        let d = duration(d);
                        quote!(::core::option::Option::Some(#d))
                    }
                    None => quote!(::core::option::Option::None),
                };
                b.extend(quote!(.quarantine(#retry)));
            }
            other => return Err(unsupported(format_args!("on_exhausted {other:?}"))),
        }
        out.extend(quote!(.with_budget(#b)));
    }
    if let Some(d) = spec.liveness {
        let d = duration(d);
        out.extend(quote!(.with_liveness(#d)));
    }
    for tag in &spec.tags {
        out.extend(quote!(.with_tag(#tag)));
    }
    Ok(out)
}

fn duration(d: Duration) -> TokenStream {
    let secs = Literal::u64_suffixed(d.as_secs());
    let nanos = Literal::u32_suffixed(d.subsec_nanos());
    quote!(::supervisor_runtime::__private::Duration::new(#secs, #nanos))
}

/// A float literal; validation has kept multipliers and jitter finite and
/// non-negative, so the literal needs no sign.
fn float(v: f64) -> syn::Result<Literal> {
    if v.is_finite() && v >= 0.0 {
        // `-0.0 >= 0.0`: write it as `0.0`.
        Ok(Literal::f64_suffixed(v.abs()))
    } else {
        Err(unsupported(format_args!("number {v}")))
    }
}

/// A value of the spec this version of the macro cannot write out.
fn unsupported(what: std::fmt::Arguments) -> syn::Error {
    syn::Error::new(
        Span::call_site(),
        format!("this version of `#[supervised]` cannot write {what}; update supervisor-macros"),
    )
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        supervised(args, item).to_string()
    }

    #[test]
    fn emits_a_struct_with_the_fn_inside_and_both_impls() {
        let out = expand_str(
            quote!(restart = "transient"),
            quote! {
                /// Docs.
                #[inline]
                pub async fn ingest(ctx: TaskContext) -> Result<(), E> { body(ctx).await }
            },
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.contains("# [doc = r\" Docs.\"] # [allow (non_camel_case_types)]"),
            "{out}"
        );
        assert!(out.contains("pub struct ingest ;"), "{out}");
        assert!(
            out.contains("impl ingest { # [inline] async fn ingest (ctx : TaskContext)"),
            "{out}"
        );
        assert!(
            out.contains("impl :: supervisor_runtime :: Task for ingest"),
            "{out}"
        );
        assert!(
            out.contains(
                ":: supervisor_runtime :: __private :: worker (\"ingest\" , \"ingest\" , & [])"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "with_restart (:: supervisor_runtime :: __private :: Restart :: Transient)"
            ),
            "{out}"
        );
    }

    #[test]
    fn bad_arguments_still_expand_the_fn() {
        let out = expand_str(
            quote!(restrat = "transient"),
            quote!(
                async fn ingest(ctx: TaskContext) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.starts_with(":: core :: compile_error ! { \"unknown key `restrat`"),
            "{out}"
        );
        assert!(
            out.contains("impl :: supervisor_runtime :: Task for ingest"),
            "{out}"
        );
        assert!(out.contains("unreachable !"), "{out}");
    }

    #[test]
    fn a_bad_signature_keeps_the_item_as_written() {
        let item = quote!(
            fn ingest() {}
        );
        let out = expand_str(quote!(restrat = "x"), item.clone());
        // The argument error, then each signature error, then the item.
        let errors: Vec<&str> = out.matches("compile_error").collect();
        assert_eq!(errors.len(), 4, "{out}");
        assert!(out.ends_with(&item.to_string()), "{out}");
        assert!(!out.contains("struct"), "{out}");
    }

    #[test]
    fn only_fns_are_accepted() {
        let item = quote!(
            struct Ingest;
        );
        let out = expand_str(TokenStream::new(), item.clone());
        assert!(out.contains("goes on an `async fn`"), "{out}");
        assert!(out.ends_with(&item.to_string()), "{out}");
    }
}
